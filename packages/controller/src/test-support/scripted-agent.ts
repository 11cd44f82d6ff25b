// A test double of the *agent* (not of a runtime): a real grpc-js AgentService on 127.0.0.1 whose
// containers live in memory and whose behaviour a test scripts (delays, failures, holds).
// Archives really travel agent to agent over gRPC, with SHA-256 checked at both ends.
import { createHash, randomBytes } from "node:crypto";
import { Server } from "@grpc/grpc-js";
import {
  AgentClient,
  AgentServiceDefinition,
  SERVER_OPTIONS,
  agentServiceImplementation,
  failedPrecondition,
  serverCredentials,
  notFound,
  type AgentHandlers,
  type ArchiveChunk,
  type ContainerRef,
  type ContainerSpec,
  type ContainerStatus,
  type HostInfo,
  type HostNetworkConfig,
  type ImageChunk,
  type ImageInfo,
  type TlsCredentials,
  type TransferProgress,
} from "@corral/wire";

export interface AgentScript {
  /** Source: archive size = chunks × chunkBytes, with a pause before each chunk. */
  chunks: number;
  chunkBytes: number;
  chunkDelayMs: number;
  /** Target: fail the receive once this many bytes arrived. */
  failReceiveAfterBytes?: number;
  /** start() waits for this promise first. */
  holdStart?: Promise<void>;
  failCreate?: string;
  failStart?: string;
}

interface FakeContainer {
  spec: ContainerSpec;
  state: "running" | "stopped";
  madeByToken?: string;
}

export class ScriptedAgent {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  /** The last network the controller pushed (ConfigureNetwork). */
  network: HostNetworkConfig | undefined;
  readonly images: string[] = [];
  /** The SHA-256 of each image's bytes as they arrived, beside `images`. */
  readonly imageShas: string[] = [];
  script: AgentScript = { chunks: 4, chunkBytes: 64 * 1024, chunkDelayMs: 5 };
  /** What this host reports its lxc backend can do (an agent derives it from the backend's interfaces). */
  lxcCapabilities: string[] = ["exec", "live-limits", "image-import", "usage", "migrate"];
  /** The timeout of every stop asked for, in order. */
  readonly stopTimeouts: number[] = [];
  /** The rate limit of every send asked for, in order. */
  readonly sendLimits: number[] = [];
  private readonly prepared = new Map<string, ContainerRef>();
  /** Every transfer token this agent was told to expect, in order. */
  readonly tokensSeen: string[] = [];
  private readonly staged = new Map<string, { ref: ContainerRef; bytes: number; spec: ContainerSpec }>();
  private server!: Server;
  address = "";

  /** `tls`: this host's credentials (from a join); it serves and dials peers with them, as an agent does. */
  constructor(
    readonly name: string,
    readonly tls: TlsCredentials,
  ) {}

  static async start(name: string, tls: TlsCredentials, port = 0): Promise<ScriptedAgent> {
    const a = new ScriptedAgent(name, tls);
    a.server = new Server(SERVER_OPTIONS);
    a.server.addService(AgentServiceDefinition, agentServiceImplementation(a.handlers()));
    const bound = await new Promise<number>((res, rej) =>
      a.server.bindAsync(`127.0.0.1:${port}`, serverCredentials(tls, "required"), (e, p) => (e ? rej(e) : res(p))),
    );
    a.address = `127.0.0.1:${bound}`;
    return a;
  }

  info(): HostInfo {
    return {
      name: this.name,
      address: this.address,
      cpus: 2,
      memoryBytes: 4 * 1024 ** 3,
      diskBytes: 100 * 1024 ** 3,
      diskFreeBytes: 50 * 1024 ** 3,
      backends: [
        { name: "lxc", available: true, reason: "", capabilities: [...this.lxcCapabilities] },
        { name: "docker", available: false, reason: "no dockerd here", capabilities: [] },
      ],
      agentVersion: "scripted",
    };
  }

  addContainer(name: string, state: "running" | "stopped"): void {
    this.containers.set(name, { spec: specOf(name), state });
  }

  close(): void {
    this.server.forceShutdown();
  }

  private get(name: string): FakeContainer {
    const c = this.containers.get(name);
    if (!c) throw notFound(`container "${name}" not found on ${this.name}`);
    return c;
  }

  private status(name: string): ContainerStatus {
    const c = this.get(name);
    return { name, backend: c.spec.backend, state: c.state, initPid: c.state === "running" ? 4242 : 0, limits: c.spec.limits };
  }

  private handlers(): AgentHandlers {
    const log = (call: string) => this.calls.push(call);
    return {
      hostInfo: async () => this.info(),
      create: async (spec) => {
        log(`create ${spec.name}`);
        if (this.script.failCreate) throw failedPrecondition(this.script.failCreate);
        this.containers.set(spec.name, { spec, state: "stopped" });
        return this.status(spec.name);
      },
      start: async (ref) => {
        log(`start ${ref.name}`);
        await this.script.holdStart;
        if (this.script.failStart) throw failedPrecondition(this.script.failStart);
        this.get(ref.name).state = "running";
        return this.status(ref.name);
      },
      stop: async (ref, timeoutSeconds) => {
        log(`stop ${ref.name}`);
        this.stopTimeouts.push(timeoutSeconds);
        this.get(ref.name).state = "stopped";
        return this.status(ref.name);
      },
      remove: async (ref) => {
        log(`remove ${ref.name}`);
        this.get(ref.name);
        this.containers.delete(ref.name);
      },
      inspect: async (ref) => this.status(ref.name),
      list: async () => [...this.containers.keys()].map((n) => this.status(n)),
      exec: (req) => this.exec(req.ref, req.argv),
      setLimits: async (ref, limits) => {
        log(`setLimits ${ref.name}`);
        this.get(ref.name).spec.limits = limits;
        return this.status(ref.name);
      },
      // Every running container has one process: host PID 4242, its init.
      listProcesses: async (ref) =>
        this.status(ref.name).state === "running" ? [{ hostPid: 4242, pid: 1, user: "root", hostUid: 0, cpuSeconds: 0, command: "init" }] : [],
      findPidOwner: async (pid) => {
        const running = [...this.containers.entries()].find(([, c]) => c.state === "running");
        return pid === 4242 && running ? { container: running[0], backend: running[1].spec.backend, pid: 1 } : undefined;
      },
      importImage: (chunks) => this.importImage(chunks),
      copyIn: async () => {
        throw failedPrecondition("the scripted agent keeps no files");
      },
      copyOut: () => {
        throw failedPrecondition("the scripted agent keeps no files");
      },
      logs: () => {
        throw failedPrecondition("the scripted agent keeps no logs");
      },
      removeImage: async (name) => {
        const i = this.images.indexOf(name);
        if (i < 0) throw notFound(`image "${name}" is not on ${this.name}`);
        this.images.splice(i, 1);
        this.imageShas.splice(i, 1);
      },
      listImages: async () => this.images.map((name, i) => ({ name, backend: "lxc" as const, host: this.name, sizeBytes: 0, id: `sha256:${this.imageShas[i]}` })),
      // Not in `calls`: it comes on every registration, and call-order tests are about containers.
      configureNetwork: async (n) => {
        this.network = n;
        return "corral0";
      },
      prepareReceive: async (p) => {
        log(`prepareReceive ${p.ref.name}`);
        this.prepared.set(p.token, p.ref);
        this.tokensSeen.push(p.token);
        if (this.containers.has(p.ref.name)) throw failedPrecondition(`container "${p.ref.name}" already exists on ${this.name}`);
      },
      receiveArchive: (chunks) => this.receive(chunks),
      commitReceive: async (token) => {
        log("commitReceive");
        const s = this.staged.get(token);
        if (!s) throw failedPrecondition("nothing staged for this token");
        this.staged.delete(token);
        this.containers.set(s.ref.name, { spec: s.spec, state: "stopped", madeByToken: token });
        return this.status(s.ref.name);
      },
      abortReceive: async (token, ref) => {
        log(`abortReceive ${ref?.name ?? ""}`);
        const removedStaging = this.staged.delete(token);
        this.prepared.delete(token);
        let removedContainer = false;
        if (ref && this.containers.get(ref.name)?.madeByToken === token) removedContainer = this.containers.delete(ref.name);
        return { removedStaging, removedContainer };
      },
      sendArchive: (req, signal) => {
        this.sendLimits.push(req.bwlimitBytesPerSecond ?? 0);
        return this.send(req.ref, req.targetAddress, req.targetHost, req.token, signal);
      },
    };
  }

  private async *exec(ref: ContainerRef, argv: string[]) {
    this.get(ref.name);
    yield { kind: "stdout" as const, data: Buffer.from(`${argv.join(" ")}\n`) };
    yield { kind: "exit" as const, code: 0 };
  }

  private async importImage(chunks: AsyncIterable<ImageChunk>): Promise<ImageInfo> {
    let name = "";
    let bytes = 0;
    let want: string | undefined;
    const hash = createHash("sha256");
    for await (const c of chunks) {
      if (c.kind === "header") ({ name, sha256: want } = c.header);
      else {
        bytes += c.data.length;
        hash.update(c.data);
      }
    }
    // As the real agent: bytes that are not the ones the controller recorded are not kept.
    const got = hash.digest("hex");
    if (want && want !== got) throw failedPrecondition(`image "${name}" arrived with SHA-256 ${got}, not ${want}: not kept`);
    this.images.push(name);
    this.imageShas.push(got);
    return { name, backend: "lxc", host: this.name, sizeBytes: bytes, id: `sha256:${got}` };
  }

  private async receive(chunks: AsyncIterable<ArchiveChunk>) {
    const hash = createHash("sha256");
    let token = "";
    let bytes = 0;
    // Consume the whole client stream before answering: leaving the loop early destroys the grpc-js
    // call stream, which then sends "The operation was aborted" instead of our reply (grpc-js 1.14.7).
    let failure: Error | undefined;
    let result: { sha256: string; bytes: number } | undefined;
    for await (const c of chunks) {
      if (failure || result) continue;
      if (c.kind === "header") {
        token = c.header.token;
        if (!this.prepared.has(token)) failure = failedPrecondition("unknown transfer token");
      } else if (c.kind === "data") {
        bytes += c.data.length;
        hash.update(c.data);
        const limit = this.script.failReceiveAfterBytes;
        if (limit !== undefined && bytes >= limit) failure = new Error(`disk full on ${this.name} (scripted)`);
      } else {
        const sha256 = hash.digest("hex");
        if (sha256 !== c.trailer.sha256) failure = failedPrecondition("checksum mismatch");
        else result = { sha256, bytes };
      }
    }
    if (failure) throw failure;
    if (!result) throw new Error("archive ended without a trailer");
    const ref = this.prepared.get(token) as ContainerRef;
    this.staged.set(token, { ref, bytes, spec: specOf(ref.name) });
    return result;
  }

  private async *send(ref: ContainerRef, target: string, targetHost: string, token: string, signal: AbortSignal): AsyncGenerator<TransferProgress> {
    if (this.get(ref.name).state !== "stopped") throw failedPrecondition(`container "${ref.name}" must be stopped`);
    const { chunks, chunkBytes, chunkDelayMs } = this.script;
    const total = chunks * chunkBytes;
    const progress: TransferProgress[] = [];
    const hash = createHash("sha256");
    const name = this.name;
    async function* archive(): AsyncGenerator<ArchiveChunk> {
      yield { kind: "header", header: { token, ref, compression: "none", totalBytes: total, sourceHost: name, archiveFormat: "scripted/1" } };
      for (let i = 0; i < chunks; i++) {
        await new Promise((r) => setTimeout(r, chunkDelayMs));
        if (signal.aborted) throw new Error("transfer cancelled by the controller");
        const data = randomBytes(chunkBytes);
        hash.update(data);
        yield { kind: "data", data };
        progress.push({ bytes: (i + 1) * chunkBytes, totalBytes: total, done: false, sha256: "" });
      }
      yield { kind: "trailer", trailer: { sha256: hash.digest("hex"), bytes: total } };
    }
    const client = new AgentClient(target, this.tls, { kind: "host", name: targetHost });
    let finished = false;
    const result = client.receiveArchive(archive()).finally(() => (finished = true));
    result.catch(() => undefined);
    try {
      while (!finished || progress.length) {
        const p = progress.shift();
        if (p) yield p;
        else await new Promise((r) => setTimeout(r, 5));
      }
      const trailer = await result;
      yield { bytes: trailer.bytes, totalBytes: total, done: true, sha256: trailer.sha256 };
    } finally {
      client.close();
    }
  }
}

export function specOf(name: string): ContainerSpec {
  return {
    name,
    backend: "lxc",
    template: "busybox",
    image: "",
    limits: { memoryBytes: 256 * 1024 ** 2, cpus: 1 },
    env: [],
    cmd: [],
    ports: [],
    labels: {},
  };
}
