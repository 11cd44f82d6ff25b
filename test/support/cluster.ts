// A real local cluster for cross-host tests: NATS in a container started with testcontainers (image
// built locally, FROM scratch), then deploy/local-cluster.sh with its own namespaces, subnet, bridge
// and ports so it never touches a person's cluster. Faults are real: kill -9 of an agent.
import { execFile, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, mkdirSync, existsSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readAdminCredentials, type TlsCredentials } from "@corral/wire";

process.env.TESTCONTAINERS_RYUK_DISABLED = "true"; // no registry to pull ryuk from
const { GenericContainer, Wait } = await import("testcontainers");
type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>["start"]>>;

// Compiled to test/lib/support/: the repository is three levels up.
export const REPO = new URL("../../../", import.meta.url).pathname;
const SCRIPT = join(REPO, "deploy/local-cluster.sh");
const CLI = join(REPO, "packages/cli/bin/corral.js");
const run = promisify(execFile);
/** Slot s uses ports BASE+10s (controller), +1 (agents), and those + 2000 (metrics). */
const CLUSTER_PORT_BASE = 27400;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClusterOptions {
  hosts: number;
  /** Distinguishes clusters of different test files: namespaces, subnet, ports. */
  slot: number;
  docker?: boolean;
  /** false: the hosts have no LXD (a file that runs beside others must not see their LXD instances). */
  lxd?: boolean;
}

/** Builds the NATS image from Debian's nats-server, as recipes/nats-image does, and starts it. */
async function startNats(): Promise<{ url: string; container: Started }> {
  const ctx = mkdtempSync(join(tmpdir(), "corral-nats-image-"));
  mkdirSync(join(ctx, "lib/x86_64-linux-gnu"), { recursive: true });
  mkdirSync(join(ctx, "lib64"), { recursive: true });
  // copyFileSync follows symlinks: Debian's /lib64/ld-linux-x86-64.so.2 is one, and a dangling
  // link in the image fails with "exec /nats-server: no such file or directory".
  copyFileSync(join(REPO, "deploy/images/nats/Dockerfile"), join(ctx, "Dockerfile"));
  copyFileSync("/usr/sbin/nats-server", join(ctx, "nats-server"));
  chmodSync(join(ctx, "nats-server"), 0o755);
  copyFileSync("/lib/x86_64-linux-gnu/libc.so.6", join(ctx, "lib/x86_64-linux-gnu/libc.so.6"));
  copyFileSync("/lib64/ld-linux-x86-64.so.2", join(ctx, "lib64/ld-linux-x86-64.so.2"));
  const image = await GenericContainer.fromDockerfile(ctx).build("corral/nats:test", { deleteOnExit: false });
  const container = await image
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return { url: `nats://127.0.0.1:${container.getMappedPort(4222)}`, container };
}

export class TestCluster {
  readonly root: string;
  readonly controller: string;
  readonly env: NodeJS.ProcessEnv;
  /** The LXD project of this cluster's instances: `lxc --project P …` sees them, the default project not. */
  readonly lxdProject: string;
  natsUrl = "";
  private nats: Started | undefined;

  constructor(readonly opts: ClusterOptions) {
    const s = opts.slot;
    // Below the kernel's ephemeral range (32768–60999): a port in it can be held at random by any
    // outgoing connection, and a cluster then fails to start with EADDRINUSE.
    const port = CLUSTER_PORT_BASE + s * 10;
    this.root = `/var/lib/corral-test-${s}`;
    this.lxdProject = `corral-test-${s}`;
    this.controller = `127.0.0.1:${port}`;
    this.env = {
      ...process.env,
      CORRAL_LOCAL_ROOT: this.root,
      CORRAL_NS_PREFIX: `ct${s}h`,
      CORRAL_SUBNET: `10.78.${s}`,
      CORRAL_BRIDGE: `corralt${s}br`,
      CORRAL_CONTROLLER_PORT: String(port),
      CORRAL_AGENT_PORT: String(port + 1),
      CORRAL_CONFIG: join(tmpdir(), `corral-test-${s}-config.json`),
      CORRAL_DOCKER: opts.docker ? "1" : "0",
      CORRAL_LXD: opts.lxd === false ? "0" : "1",
      CORRAL_LXD_PROJECT: this.lxdProject,
      CORRAL_LOG_LEVEL: "info",
    };
  }

  async up(): Promise<void> {
    // A run that was killed leaves its cluster behind; `down` stops it. Whatever `down` could not
    // remove (it failed, or the root lost its marker) goes too: this root belongs to this test slot
    // alone, and stale containers in it would make the first create say "already exists".
    const stale = await this.script("down").then(() => undefined, (e: Error) => e);
    if (stale) console.error(`stale cluster down failed (${stale.message}); removing ${this.root}`);
    rmSync(this.root, { recursive: true, force: true });
    const nats = await startNats();
    this.nats = nats.container;
    this.natsUrl = nats.url;
    this.env.CORRAL_NATS_URL = nats.url;
    await this.script("up", String(this.opts.hosts));
  }

  async down(): Promise<void> {
    await this.script("down").catch((e: Error) => console.error(`cluster down failed: ${e.message}`));
    await this.nats?.stop().catch(() => undefined);
  }

  async script(...args: string[]): Promise<string> {
    try {
      const r = await run("bash", [SCRIPT, ...args], { env: this.env, maxBuffer: 16 << 20 });
      return r.stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`local-cluster.sh ${args.join(" ")} failed: ${e.stderr || e.message}\n${e.stdout ?? ""}`);
    }
  }

  /** Runs the real `corral` binary against this cluster's controller, with `input` as its stdin. */
  cli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, "--controller", this.controller, ...args], { env: { ...this.env, ...opts.env } });
      // stdin is `input`, then its end: `ct exec` forwards a piped stdin, so none may be left open.
      child.stdin.end(opts.input ?? "");
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
    });
  }

  /** `corral … --json`, parsed; fails the test with the CLI's stderr when the command fails. */
  async json<T>(args: string[]): Promise<T> {
    const r = await this.cli([...args, "--json"]);
    if (r.code !== 0) throw new Error(`corral ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The admin's client credentials that `up` made with `corral cluster init`. */
  adminTls(): TlsCredentials {
    return readAdminCredentials(join(this.root, "controller"));
  }

  hostDir(host: string): string {
    return join(this.root, "hosts", host);
  }

  lxcContainers(host: string): string[] {
    const d = join(this.hostDir(host), "lxc");
    return existsSync(d) ? readdirSync(d).filter((e) => !e.startsWith(".")) : [];
  }

  staging(host: string): string[] {
    const d = join(this.hostDir(host), "lxc", ".corral-staging");
    return existsSync(d) ? readdirSync(d) : [];
  }
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
