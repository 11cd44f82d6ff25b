// The agent's gRPC surface in domain terms: each call checks its input (request-checks.ts), finds
// the backend and delegates.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { dataOf, failedPrecondition, invalidArgument, parseBackend, PLAIN_EXEC, splitHeader, validateLimits, type AgentHandlers, type ContainerRef, type ContainerStatus, type ImageChunk, type ImageHeader, type TlsCredentials } from "@corral/wire";
import { hasImageImport, hasLiveLimits, type ExecIo } from "../backends/backend.js";
import { LOGIN_SHELL_ARGV } from "../process/exec-io.js";
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
    exec: (req, input, signal) => {
      const opts = req.options ?? PLAIN_EXEC;
      // A login shell is the agent's to pick: the caller names none.
      if (opts.login && req.argv.length) throw invalidArgument("a login shell takes no command");
      const argv = opts.login ? [...LOGIN_SHELL_ARGV] : req.argv;
      checkExec({ ...req, argv });
      const io: ExecIo = { input, login: opts.login, ...(opts.tty ? { tty: opts.size } : {}) };
      return registry.get(req.ref.backend).exec(req.ref.name, argv, req.env, signal, io);
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
