// The agent's gRPC surface in domain terms: each call checks its input (request-checks.ts), finds
// the backend and delegates.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { checkCopyTarget, dataOf, failedPrecondition, invalidArgument, isCode, parseBackend, PLAIN_EXEC, splitHeader, validateBackendLimits, type AgentHandlers, type ContainerRef, type ContainerStatus, type CopyInChunk, type CopyInHeader, type ImageChunk, type ImageHeader, type TlsCredentials } from "@corral/wire";
import { hasAddressHolder, hasConversionSource, hasExitReasons, hasImageImport, hasImageStore, hasLiveLimits, hasProcessGroups, type Backend, type ExecIo } from "../backends/backend.js";
import { pidInside, ProcessReader, withinGroup } from "../process/container-processes.js";
import { LOGIN_SHELL_ARGV } from "../process/exec-io.js";
import type { BackendRegistry } from "../backends/registry.js";
import type { ReceiveManager } from "../transfer/receiver.js";
import { sendArchive } from "../transfer/sender.js";
import { probePeer } from "../transfer/peer-probe.js";
import { hostInfo } from "../host-info.js";
import type { HostNetwork } from "../network/host-network.js";
import type { AgentConfig } from "../config.js";
import { checkExec, checkImage, checkProbe, checkRef, checkSend, checkSpec, checkTimeout } from "./request-checks.js";

export function agentHandlers(
  cfg: AgentConfig,
  registry: BackendRegistry,
  receiver: ReceiveManager,
  log: Logger,
  tls: TlsCredentials,
  network: HostNetwork,
  dataAddress?: string,
): AgentHandlers {
  /** Receives that brought an address or ports, by token: an abort takes their attachment back. */
  const receiving = new Map<string, string>();
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
  /** Whether a container the network remembers is still on this host (not_found: it is not). */
  const stillHere = async (a: { name: string; backend: ContainerRef["backend"] }) =>
    (async () => registry.get(a.backend).inspect(a.name))().then(() => true, (err: unknown) => !isCode(err, "not_found"));
  return {
    hostInfo: async () => ({ ...(await hostInfo(cfg.name, cfg.advertise, cfg.stateDir, registry)), ...(dataAddress ? { dataAddress } : {}) }),
    create: async (spec) => {
      checkSpec(spec);
      const b = registry.get(spec.backend);
      await network.checkPorts(spec, stillHere);
      const st = await b.create(spec);
      try {
        await network.attach(spec);
      } catch (err) {
        // A port that cannot be published is not a container half made: it goes again.
        await b.remove(spec.name).catch(() => undefined);
        throw err;
      }
      return st;
    },
    start: async (ref) => {
      const b = backendOf(ref);
      const st = await b.start(ref.name);
      const ipv4 = network.attachment(ref.name)?.ipv4;
      if (ipv4) await network.announce(st.initPid || (await b.inspect(ref.name)).initPid, ipv4);
      return st;
    },
    stop: async (ref, timeout) => {
      checkTimeout(timeout);
      return backendOf(ref).stop(ref.name, timeout);
    },
    remove: async (ref) => {
      await backendOf(ref).remove(ref.name);
      await network.detach(ref.name);
    },
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
      if (header.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(header.sha256)) throw invalidArgument("image sha256 must be 64 hex digits");
      // The bytes are hashed as they go in: an image fetched on first use is kept only when they
      // are the ones the controller recorded.
      const hash = createHash("sha256");
      async function* hashed(): AsyncGenerator<Buffer> {
        for await (const d of dataOf(rest)) {
          hash.update(d);
          yield d;
        }
      }
      const info = await b.importImage(header.name, Readable.from(hashed()));
      const got = hash.digest("hex");
      if (header.sha256 && got !== header.sha256) {
        if (hasImageStore(b)) await b.removeImage(header.name).catch(() => undefined);
        throw failedPrecondition(`image "${header.name}" arrived with SHA-256 ${got}, not ${header.sha256}: not kept`);
      }
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
    configureNetwork: (n) => network.configure(n),
    prepareReceive: async (p) => {
      // Its ports must be free here before anything moves; its address is kept for the commit.
      if (p.spec) {
        if (p.spec.name !== p.ref.name || p.spec.backend !== p.ref.backend) throw invalidArgument("the spec sent with a receive names another container");
        checkSpec(p.spec);
        await network.checkPorts(p.spec, stillHere);
      }
      await receiver.prepare(p);
      if (p.spec && (p.spec.ipv4 || p.spec.ports.length > 0)) {
        await network.attach(p.spec);
        receiving.set(p.token, p.spec.name);
      }
    },
    receiveArchive: (chunks, peerHost) => receiver.receive(chunks, peerHost),
    commitReceive: async (token) => {
      const st = await receiver.commit(token);
      receiving.delete(token);
      return st;
    },
    abortReceive: async (token, ref) => {
      const r = await receiver.abort(token, ref);
      const name = receiving.get(token);
      receiving.delete(token);
      if (name) await network.detach(name);
      return r;
    },
    planConversion: async (ref, target) => {
      const b = backendOf(ref);
      if (!hasConversionSource(b)) throw failedPrecondition(`a ${b.name} container cannot be converted to ${target}`);
      return b.planConversion(ref.name, target);
    },
    probePeer: async (p) => {
      checkProbe(p);
      return probePeer(p, cfg.name, tls);
    },
    addressesInUse: async () => (await Promise.all(registry.available().filter(hasAddressHolder).map((b) => b.addressesInUse()))).flat(),
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
