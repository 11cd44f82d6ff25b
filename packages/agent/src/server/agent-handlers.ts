// The agent's gRPC surface in domain terms: each call finds the backend and delegates.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { failedPrecondition, invalidArgument, type AgentHandlers, type ContainerStatus, type ImageChunk, type TlsCredentials } from "@corral/wire";
import { hasImageImport, hasLiveLimits } from "../backends/backend.js";
import type { BackendRegistry } from "../backends/registry.js";
import type { ReceiveManager } from "../transfer/receiver.js";
import { sendArchive } from "../transfer/sender.js";
import { hostInfo } from "../host-info.js";
import type { AgentConfig } from "../config.js";

export function agentHandlers(cfg: AgentConfig, registry: BackendRegistry, receiver: ReceiveManager, log: Logger, tls: TlsCredentials): AgentHandlers {
  const all = async (backend: string): Promise<ContainerStatus[]> => {
    const bs = backend ? [registry.get(backend as never)] : registry.available();
    return (await Promise.all(bs.map((b) => b.list()))).flat();
  };
  return {
    hostInfo: () => hostInfo(cfg.name, cfg.advertise, cfg.stateDir, registry),
    create: (spec) => registry.get(spec.backend).create(spec),
    start: (ref) => registry.get(ref.backend).start(ref.name),
    stop: (ref, timeout) => registry.get(ref.backend).stop(ref.name, timeout),
    delete: (ref) => registry.get(ref.backend).destroy(ref.name),
    inspect: (ref) => registry.get(ref.backend).inspect(ref.name),
    list: all,
    exec: (req, signal) => registry.get(req.ref.backend).exec(req.ref.name, req.argv, req.env, signal),
    setLimits: async (ref, limits) => {
      const b = registry.get(ref.backend);
      if (!hasLiveLimits(b)) throw failedPrecondition(`backend ${b.name} cannot change limits live`);
      return b.setLimits(ref.name, limits);
    },
    importImage: async (chunks) => {
      const it = chunks[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.kind !== "header") throw invalidArgument("image stream must start with a header");
      const header = first.value.header;
      const b = registry.get(header.backend);
      if (!hasImageImport(b)) throw failedPrecondition(`backend ${b.name} cannot import images`);
      async function* data(): AsyncGenerator<Buffer> {
        for (let c = await it.next(); !c.done; c = await it.next()) {
          const chunk: ImageChunk = c.value;
          if (chunk.kind === "data") yield chunk.data;
        }
      }
      const info = await b.importImage(header.name, Readable.from(data()));
      return { ...info, host: cfg.name };
    },
    prepareReceive: (p) => receiver.prepare(p),
    receiveArchive: (chunks, peerHost) => receiver.receive(chunks, peerHost),
    commitReceive: (token) => receiver.commit(token),
    abortReceive: (token, ref) => receiver.abort(token, ref),
    sendArchive: (req, signal) => sendArchive(req, registry, cfg.name, tls, log, signal),
  };
}
