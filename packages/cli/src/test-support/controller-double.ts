// A scripted double of the controller's gRPC API, served by a real grpc-js server, so the CLI
// binary can be tested alone. Exec runs the argv as a real local process; migrations replay a
// script of updates. The lead's cross-host tests drive the real controller.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import {
  ControllerServiceDefinition,
  SERVER_OPTIONS,
  controllerServiceImplementation,
  notFound,
  type Container,
  type ContainerList,
  type ControllerHandlers,
  type CreateRequest,
  type ExecOutput,
  type Host,
  type ImageChunk,
  type ImageHeader,
  type ImageInfo,
  type IssuedToken,
  type LimitsPatch,
  type MigrateOptions,
  type Migration,
  type MigrationUpdate,
  type TokenInfo,
  type TokenRole,
} from "@corral/wire";

export interface RecordedCall {
  method: string;
  args: unknown[];
}

export class ControllerDouble implements ControllerHandlers {
  readonly calls: RecordedCall[] = [];
  readonly containers = new Map<string, Container>();
  hosts: Host[] = [];
  migrations: Migration[] = [];
  tokens: TokenInfo[] = [];
  /** Updates `migrate` replays, with `container`, hosts and compression filled in. */
  migrationScript: MigrationUpdate[] = [];
  /** What `ct list --drift` shows. */
  drift: Container[] = [];
  /** The options of the last migrate call. */
  migrateOptions: MigrateOptions | undefined;
  imported: { header: ImageHeader | undefined; chunkSizes: number[]; sha256: string } | undefined;

  private record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }
  private must(name: string): Container {
    const c = this.containers.get(name);
    if (!c) throw notFound(`container "${name}" not found`);
    return c;
  }

  async listHosts(): Promise<Host[]> {
    this.record("listHosts");
    return this.hosts;
  }
  async create(req: CreateRequest): Promise<Container> {
    this.record("create", req);
    const c: Container = {
      name: req.spec.name,
      host: req.host || "host1",
      backend: req.spec.backend,
      state: req.start ? "running" : "stopped",
      desiredState: req.start ? "running" : "stopped",
      spec: req.spec,
      usage: undefined,
      createdUnixMs: Date.now(),
      lastReportUnixMs: 0,
    };
    this.containers.set(c.name, c);
    return c;
  }
  async list(host: string): Promise<ContainerList> {
    this.record("list", host);
    return { containers: [...this.containers.values()].filter((c) => !host || c.host === host), drift: this.drift };
  }
  async get(name: string): Promise<Container> {
    this.record("get", name);
    return this.must(name);
  }
  async start(name: string): Promise<Container> {
    this.record("start", name);
    return Object.assign(this.must(name), { state: "running", desiredState: "running" } as const);
  }
  async stop(name: string, timeoutSeconds: number): Promise<Container> {
    this.record("stop", name, timeoutSeconds);
    return Object.assign(this.must(name), { state: "stopped", desiredState: "stopped" } as const);
  }
  async remove(name: string, force: boolean): Promise<void> {
    this.record("remove", name, force);
    this.must(name);
    this.containers.delete(name);
  }
  async setLimits(name: string, limits: LimitsPatch): Promise<Container> {
    this.record("setLimits", name, limits);
    const c = this.must(name);
    // Merged as the controller does: a limit not given keeps its value.
    c.spec = { ...c.spec, limits: { memoryBytes: limits.memoryBytes ?? c.spec.limits.memoryBytes, cpus: limits.cpus ?? c.spec.limits.cpus } };
    return c;
  }
  async listMigrations(container: string): Promise<Migration[]> {
    this.record("listMigrations", container);
    return this.migrations.filter((m) => !container || m.container === container);
  }

  async createToken(role: TokenRole, ttlSeconds: number): Promise<IssuedToken> {
    this.record("createToken", role, ttlSeconds);
    const now = Date.now();
    const info: TokenInfo = {
      id: `t${this.tokens.length + 1}`.padEnd(12, "0"),
      role,
      createdUnixMs: now,
      expiresUnixMs: ttlSeconds ? now + ttlSeconds * 1000 : 0,
      revokedUnixMs: 0,
    };
    this.tokens.push(info);
    return { info, token: `corral_${info.id}_${"s".repeat(43)}` };
  }
  async listTokens(): Promise<TokenInfo[]> {
    this.record("listTokens");
    return this.tokens;
  }
  async revokeToken(id: string): Promise<TokenInfo> {
    this.record("revokeToken", id);
    const t = this.tokens.find((x) => x.id === id);
    if (!t) throw notFound(`token "${id}" not found`);
    t.revokedUnixMs ||= Date.now();
    return t;
  }

  async *exec(name: string, argv: string[], env: string[], signal: AbortSignal): AsyncIterable<ExecOutput> {
    this.record("exec", name, argv, env);
    this.must(name);
    const extra = Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...extra }, signal });
    // Interleave both pipes in arrival order, as an agent would.
    const queue: ExecOutput[] = [];
    let wake: (() => void) | undefined;
    let open = 2;
    const push = (o: ExecOutput) => {
      queue.push(o);
      wake?.();
    };
    child.stdout.on("data", (d: Buffer) => push({ kind: "stdout", data: d }));
    child.stderr.on("data", (d: Buffer) => push({ kind: "stderr", data: d }));
    const closed = () => {
      open--;
      wake?.();
    };
    child.stdout.on("close", closed);
    child.stderr.on("close", closed);
    const exit = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 128)));
    while (open > 0 || queue.length) {
      if (!queue.length) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      while (queue.length) yield queue.shift() as ExecOutput;
    }
    yield { kind: "exit", code: await exit };
  }

  async *migrate(name: string, targetHost: string, opts: MigrateOptions): AsyncIterable<MigrationUpdate> {
    const compression = opts.compression;
    this.record("migrate", name, targetHost, compression);
    this.migrateOptions = opts;
    const c = this.must(name);
    for (const u of opts.detach ? this.migrationScript.slice(0, 1) : this.migrationScript) {
      await new Promise((r) => setTimeout(r, 5));
      yield { ...u, migration: { ...u.migration, container: name, sourceHost: c.host, targetHost, compression } };
    }
  }

  async *watchMigration(id: string, follow: boolean): AsyncIterable<MigrationUpdate> {
    this.record("watchMigration", id, follow);
    const script = follow ? this.migrationScript : this.migrationScript.slice(-1);
    for (const u of script) {
      await new Promise((r) => setTimeout(r, 5));
      yield { ...u, migration: { ...u.migration, id } };
    }
  }

  async finishMigration(id: string): Promise<Migration> {
    this.record("finishMigration", id);
    const last = this.migrationScript[this.migrationScript.length - 1];
    if (!last) throw new Error("no migration scripted");
    return { ...last.migration, id, sourceKept: false };
  }

  async importImage(chunks: AsyncIterable<ImageChunk>): Promise<ImageInfo[]> {
    const hash = createHash("sha256");
    const rec: NonNullable<ControllerDouble["imported"]> = { header: undefined, chunkSizes: [], sha256: "" };
    for await (const ch of chunks) {
      if (ch.kind === "header") rec.header = ch.header;
      else {
        rec.chunkSizes.push(ch.data.length);
        hash.update(ch.data);
      }
    }
    rec.sha256 = hash.digest("hex");
    this.imported = rec;
    const h = rec.header as ImageHeader;
    const hosts = h.hosts.length ? h.hosts : this.hosts.map((x) => x.name);
    return hosts.map((host) => ({ name: h.name, backend: h.backend, host, sizeBytes: h.sizeBytes, id: `sha256:${rec.sha256.slice(0, 12)}` }));
  }
}

export async function serveDouble(double: ControllerDouble): Promise<{ address: string; close(): Promise<void> }> {
  const server = new Server(SERVER_OPTIONS);
  server.addService(ControllerServiceDefinition, controllerServiceImplementation(double));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export function sampleContainer(name: string, host: string, over: Partial<Container> = {}): Container {
  return {
    name,
    host,
    backend: "lxc",
    state: "running",
    desiredState: "running",
    spec: {
      name,
      backend: "lxc",
      template: "busybox",
      image: "",
      limits: { memoryBytes: 256 * 1024 * 1024, cpus: 1 },
      env: [],
      cmd: [],
      ports: [],
      labels: {},
    },
    usage: undefined,
    createdUnixMs: 1_700_000_000_000,
    lastReportUnixMs: 0,
    ...over,
  };
}

export function sampleHost(name: string, address: string): Host {
  return {
    name,
    address,
    state: "ready",
    backends: [
      { name: "lxc", available: true, reason: "", capabilities: ["limits"] },
      { name: "openvz", available: false, reason: "vzctl not found", capabilities: [] },
    ],
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    diskBytes: 100 * 1024 ** 3,
    diskFreeBytes: 50 * 1024 ** 3,
    reservedMemoryBytes: 512 * 1024 ** 2,
    reservedCpus: 1.5,
    containers: 2,
    lastSeenUnixMs: 1_700_000_000_000,
  };
}
