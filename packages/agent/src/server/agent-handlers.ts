// The agent's gRPC surface in domain terms: each call checks its input (request-checks.ts), finds
// the backend and delegates.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { checkCopyTarget, dataOf, failedPrecondition, parseBackend, splitHeader, validateLimits, type AgentHandlers, type ContainerRef, type ContainerStatus, type CopyInChunk, type CopyInHeader, type ImageChunk, type ImageHeader, type TlsCredentials } from "@corral/wire";
import { hasExitReasons, hasImageImport, hasLiveLimits, type Backend } from "../backends/backend.js";
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
    inspect: async (ref) => {
      const b = backendOf(ref);
      const st = await b.inspect(ref.name);
      // Only here, not in list(): it may read the runtime's log.
      if (hasExitReasons(b)) {
        const last = await b.lastExit(ref.name).catch(() => undefined);
        if (last) st.lastExit = last;
      }
      return st;
    },
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
    copyIn: async (chunks) => {
      const { header, rest } = await splitHeader<CopyInHeader, CopyInChunk>(chunks, "copy");
      const ref = checkRef({ name: header.container, backend: parseBackend(header.backend) });
      checkCopyTarget(header.path, header.sourceName);
      await registry.get(ref.backend).copyIn(ref.name, header, Readable.from(dataOf(rest)));
    },
    copyOut: (ref, path, signal) => {
      checkCopyTarget(path);
      return copyOut(backendOf(ref), ref.name, path, signal);
    },
    logs: (ref, opts, signal) => backendOf(ref).logs(ref.name, opts, signal),
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

/** The tar's bytes as they come (the gRPC writer pulls, so tar waits on a slow reader), then tar's verdict. */
async function* copyOut(b: Backend, name: string, path: string, signal: AbortSignal): AsyncGenerator<Buffer> {
  const out = await b.copyOut(name, path);
  out.finished.catch(() => undefined);
  const stop = (): void => {
    out.stream.destroy();
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const chunk of out.stream) yield chunk as Buffer;
    await out.finished;
  } finally {
    signal.removeEventListener("abort", stop);
    out.stream.destroy();
  }
}
