// A scripted double of the controller's gRPC API, served by a real grpc-js server, so the CLI
// binary can be tested alone. Exec runs the argv as a real local process; migrations replay a
// script of updates. The lead's cross-host tests drive the real controller.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server } from "@grpc/grpc-js";
import {
  ControllerServiceDefinition,
  SERVER_OPTIONS,
  CONTROLLER_IDENTITY,
  controllerServiceImplementation,
  createCertificateAuthority,
  issueCredentials,
  notFound,
  requireIdentity,
  serverCredentials,
  type Container,
  type CorralEvent,
  type EventQuery,
  type ContainerList,
  type ControllerHandlers,
  type CreateRequest,
  type ExecInput,
  type ExecOptions,
  type ExecOutput,
  type ExecStart,
  type TerminalSize,
  type Host,
  type ImageChunk,
  type ImageHeader,
  type ImageInfo,
  type IssuedToken,
  type LimitsPatch,
  type JoinToken,
  type MigrateOptions,
  type Migration,
  type MigrationUpdate,
  type TokenInfo,
  type TokenRole,
  type HostMoveProgress,
  type PlacementExplanation,
  type PidOwner,
  type ProcessInfo,
  type NetworkView,
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
  /** What explainPlacement answers. */
  explanation: PlacementExplanation = { host: null, strategy: "binpack", seed: 1, verdicts: [] };
  /** What drainHost and restoreHost replay. */
  moveScript: HostMoveProgress[] = [];

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
    if (this.stopDelayMs) await new Promise((r) => setTimeout(r, this.stopDelayMs));
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
  /** What listProcesses answers for any container. */
  processes: ProcessInfo[] = [{ hostPid: 31337, pid: 1, user: "root", hostUid: 100000, cpuSeconds: 0.25, command: "/sbin/init" }];
  async listProcesses(name: string): Promise<ProcessInfo[]> {
    this.record("listProcesses", name);
    this.must(name);
    return this.processes;
  }
  /** Host PID 31337 belongs to the first container of that host. */
  async findPidOwner(host: string, pid: number): Promise<PidOwner> {
    this.record("findPidOwner", host, pid);
    const c = [...this.containers.values()].find((x) => x.host === host);
    if (pid !== 31337 || !c) throw notFound(`no container on ${host} owns PID ${pid}`);
    return { container: c.name, host, backend: c.backend, pid: 1 };
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

  version = "9.8.7";
  /** What watchEvents replays (filtered by sequence and subject prefix; follow ends after them). */
  events: CorralEvent[] = [];
  async *watchEvents(q: EventQuery): AsyncIterable<CorralEvent> {
    this.record("watchEvents", q);
    const matches = (subject: string) =>
      !q.subjects.length || q.subjects.some((s) => (s.endsWith(".>") ? subject.startsWith(s.slice(0, -1)) : subject === s));
    for (const e of this.events) if (e.seq >= q.sinceSeq && e.atUnixMs >= q.sinceUnixMs && matches(e.subject)) yield e;
  }
  /** How long `stop` takes, as a slow runtime's would. */
  stopDelayMs = 0;
  /** What showNetwork answers. */
  network: NetworkView = { pool: "", vni: 0, mtu: 0, addresses: [], free: 0 };
  async showNetwork(): Promise<NetworkView> {
    this.record("showNetwork");
    return this.network;
  }
  async getVersion(): Promise<string> {
    this.record("getVersion");
    return this.version;
  }

  /** The options of the last exec (tty, size, login), and the resizes it was sent. */
  execOptions: ExecOptions | undefined;
  execResizes: TerminalSize[] = [];
  async *exec(req: ExecStart, input: AsyncIterable<ExecInput>, signal: AbortSignal): AsyncIterable<ExecOutput> {
    const { name, argv, env } = req;
    this.record("exec", name, argv, env);
    this.execOptions = req.options;
    this.execResizes = [];
    this.must(name);
    const extra = Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    // A login shell (ct shell) names no command: the double runs a local one.
    const cmd = req.options.login ? ["sh", "-l"] : argv;
    const child = spawn(cmd[0] as string, cmd.slice(1), { env: { ...process.env, ...extra }, signal });
    child.stdin.on("error", () => undefined);
    void (async () => {
      for await (const i of input) {
        if (i.kind === "stdin") child.stdin.write(i.data);
        else if (i.kind === "eof") child.stdin.end();
        else this.execResizes.push(i.size);
      }
    })().catch(() => undefined);
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

  async explainPlacement(req: Omit<CreateRequest, "start">): Promise<PlacementExplanation> {
    this.record("explainPlacement", req);
    return this.explanation;
  }
  async labelHost(host: string, set: Record<string, string>, remove: string[]): Promise<Host> {
    this.record("labelHost", host, set, remove);
    const h = this.mustHost(host);
    const labels = { ...h.labels, ...set };
    for (const k of remove) delete labels[k];
    h.labels = labels;
    return h;
  }
  async setHostOvercommit(host: string, ratio: number): Promise<Host> {
    this.record("setHostOvercommit", host, ratio);
    const h = this.mustHost(host);
    h.overcommit = ratio;
    return h;
  }
  async cordonHost(host: string): Promise<Host> {
    this.record("cordonHost", host);
    const h = this.mustHost(host);
    h.state = "cordoned";
    return h;
  }
  async uncordonHost(host: string): Promise<Host> {
    this.record("uncordonHost", host);
    const h = this.mustHost(host);
    h.state = "ready";
    return h;
  }
  async *drainHost(host: string, parallel: number, deadlineSeconds: number): AsyncIterable<HostMoveProgress> {
    this.record("drainHost", host, parallel, deadlineSeconds);
    yield* this.moveScript;
  }
  async *restoreHost(host: string, parallel: number): AsyncIterable<HostMoveProgress> {
    this.record("restoreHost", host, parallel);
    yield* this.moveScript;
  }
  async setClusterSetting(key: string, value: string): Promise<void> {
    this.record("setClusterSetting", key, value);
  }
  private mustHost(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw notFound(`host "${name}" not found`);
    return h;
  }
  async createJoinToken(ttlSeconds: number): Promise<JoinToken> {
    this.record("createJoinToken", ttlSeconds);
    return { token: `corral1:${"ab".repeat(32)}:${"0".repeat(12)}.${"1".repeat(32)}`, expiresUnixMs: 1_700_000_000_000 + ttlSeconds * 1000 };
  }
  async removeHost(name: string): Promise<string> {
    this.record("removeHost", name);
    const before = this.hosts.length;
    this.hosts = this.hosts.filter((h) => h.name !== name);
    if (this.hosts.length === before) throw notFound(`host "${name}" not found`);
    return "1a2b";
  }
}

/**
 * Serves the double over mutual TLS, as the controller serves: its own CA, a controller certificate,
 * and an admin client certificate whose files `tlsEnv` points the CLI at (CORRAL_CA/CERT/KEY).
 */
export async function serveDouble(
  double: ControllerDouble,
): Promise<{ address: string; tlsEnv: Record<string, string>; close(): Promise<void> }> {
  const ca = await createCertificateAuthority("Corral test CA");
  const controller = await issueCredentials(ca, CONTROLLER_IDENTITY);
  const admin = await issueCredentials(ca, { kind: "user", name: "admin" });
  const dir = mkdtempSync(join(tmpdir(), "corral-double-tls-"));
  const tlsEnv = { CORRAL_CA: join(dir, "ca.pem"), CORRAL_CERT: join(dir, "admin.pem"), CORRAL_KEY: join(dir, "admin.key") };
  writeFileSync(tlsEnv.CORRAL_CA, ca.certPem);
  writeFileSync(tlsEnv.CORRAL_CERT, admin.cert);
  writeFileSync(tlsEnv.CORRAL_KEY, admin.key, { mode: 0o600 });
  const server = new Server(SERVER_OPTIONS);
  const users = (peer: Parameters<typeof requireIdentity>[0], method: string) => void requireIdentity(peer, method, ["user"]);
  server.addService(ControllerServiceDefinition, controllerServiceImplementation(double, users));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", serverCredentials(controller, "optional"), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    tlsEnv,
    close: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
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
    labels: {},
    overcommit: 1,
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
    reservedDiskBytes: 0,
    containers: 2,
    lastSeenUnixMs: 1_700_000_000_000,
  };
}
