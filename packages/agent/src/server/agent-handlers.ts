// The agent's gRPC surface in domain terms: each call checks its input (request-checks.ts), finds
// the backend and delegates.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { dataOf, failedPrecondition, parseBackend, splitHeader, validateBackendLimits, type AgentHandlers, type ContainerRef, type ContainerStatus, type ImageChunk, type ImageHeader, type TlsCredentials } from "@corral/wire";
import { hasImageImport, hasLiveLimits, hasProcessGroups, type Backend } from "../backends/backend.js";
import { pidInside, ProcessReader, withinGroup } from "../process/container-processes.js";
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
  const procs = new ProcessReader();
  /** A container's process group: the backend's own answer, else its init's group. */
  const groupOf = async (b: Backend, name: string, initPid?: number): Promise<string | undefined> => {
    if (hasProcessGroups(b)) return b.processGroup(name);
    return procs.groupOfInit(initPid || (await b.inspect(name)).initPid);
  };
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
      validateBackendLimits(b.name, limits);
      if (!hasLiveLimits(b)) throw failedPrecondition(`backend ${b.name} cannot change limits live`);
      return b.setLimits(ref.name, limits);
    },
    listProcesses: async (ref) => {
      const b = backendOf(ref);
      const group = await groupOf(b, ref.name);
      if (group === undefined) throw failedPrecondition(`container ${ref.name} is not running`);
      return procs.processesOf({ rel: group });
    },
    findPidOwner: async (pid) => {
      const group = await procs.groupOfPid(pid);
      if (group === undefined) return undefined;
      for (const b of registry.available()) {
        for (const st of await b.list()) {
          if (st.state !== "running") continue;
          const g = await groupOf(b, st.name, st.initPid).catch(() => undefined);
          if (g && withinGroup(group, g)) {
            const inside = await pidInside(pid);
            return inside === undefined ? undefined : { container: st.name, backend: b.name, pid: inside };
          }
        }
      }
      return undefined;
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
