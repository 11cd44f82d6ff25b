// The agent's gRPC surface in domain terms: each call checks its input (request-checks.ts), finds
// the backend and delegates.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { dataOf, failedPrecondition, parseBackend, splitHeader, validateLimits, type AgentHandlers, type ContainerRef, type ContainerStatus, type ImageChunk, type ImageHeader, type TlsCredentials } from "@corral/wire";
import { hasImageImport, hasImageStore, hasLiveLimits } from "../backends/backend.js";
import type { BackendRegistry } from "../backends/registry.js";
import type { ReceiveManager } from "../transfer/receiver.js";
import { sendArchive } from "../transfer/sender.js";
import { hostInfo } from "../host-info.js";
import type { AgentConfig } from "../config.js";
import { checkExec, checkImage, checkRef, checkSend, checkSpec, checkTimeout } from "./request-checks.js";

export function agentHandlers(cfg: AgentConfig, registry: BackendRegistry, receiver: ReceiveManager, log: Logger, tls: TlsCredentials): AgentHandlers {
  const all = async (backend: string): Promise<ContainerStatus[]> => {
    const bs = backend ? [registry.get(parseBackend(backend))] : registry.available();
    return (await Promise.all(bs.map((b) => b.list()))).flat();
  };
  const backendOf = (ref: ContainerRef) => registry.get(checkRef(ref).backend);
  return {
    hostInfo: () => hostInfo(cfg.name, cfg.advertise, cfg.stateDir, registry),
    create: async (spec) => {
      checkSpec(spec);
      return registry.get(spec.backend).create(spec);
    },
    start: async (ref) => backendOf(ref).start(ref.name),
    stop: async (ref, timeout) => {
      checkTimeout(timeout);
      return backendOf(ref).stop(ref.name, timeout);
    },
    remove: async (ref) => backendOf(ref).remove(ref.name),
    inspect: async (ref) => backendOf(ref).inspect(ref.name),
    list: all,
    exec: (req, signal) => {
      checkExec(req);
      return registry.get(req.ref.backend).exec(req.ref.name, req.argv, req.env, signal);
    },
    setLimits: async (ref, limits) => {
      const b = backendOf(ref);
      validateLimits(limits);
      if (!hasLiveLimits(b)) throw failedPrecondition(`backend ${b.name} cannot change limits live`);
      return b.setLimits(ref.name, limits);
    },
    importImage: async (chunks) => {
      const { header, rest } = await splitHeader<ImageHeader, ImageChunk>(chunks, "image");
      checkImage(header.name, "image name");
      const b = registry.get(parseBackend(header.backend));
      if (!hasImageImport(b)) throw failedPrecondition(`backend ${b.name} cannot import images`);
      const info = await b.importImage(header.name, Readable.from(dataOf(rest)));
      return { ...info, host: cfg.name };
    },
    listImages: async () => {
      const lists = await Promise.all(registry.available().filter(hasImageStore).map((b) => b.listImages()));
      return lists.flat().map((i) => ({ ...i, host: cfg.name }));
    },
    removeImage: async (name, backend) => {
      checkImage(name, "image name");
      const b = registry.get(parseBackend(backend));
      if (!hasImageStore(b)) throw failedPrecondition(`backend ${b.name} does not keep images`);
      await b.removeImage(name);
    },
    prepareReceive: (p) => receiver.prepare(p),
    receiveArchive: (chunks, peerHost) => receiver.receive(chunks, peerHost),
    commitReceive: (token) => receiver.commit(token),
    abortReceive: (token, ref) => receiver.abort(token, ref),
    sendArchive: (req, signal) => {
      checkSend(req);
      return sendArchive(req, registry, cfg.name, tls, log, signal);
    },
  };
}
