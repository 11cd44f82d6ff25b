// LXC system containers through the real lxc-* tools, each call with an explicit `-P lxcpath`
// so several agents (emulated hosts) on one machine keep separate container sets.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  messageOf,
  alreadyExists,
  CorralError,
  failedPrecondition,
  invalidArgument,
  notFound,
  type ContainerSpec,
  type ContainerStatus,
  type ContainerUsage,
  type ExecOutput,
  type Limits,
} from "@corral/wire";
import { assertArchiveFormat, requireNetwork, type ArchiveOut, type Backend, type BackendContext, type ExecIo, type LiveLimits, type ProbeResult } from "../backend.js";
import { lastLine } from "../../process/run.js";
import { ARCHIVE_FORMAT, archiveDir, rewriteStagedConfig, stageDir } from "./archive.js";
import { LxcConfig, setCgroupDirs, setNic } from "./config.js";
import { LxcTools } from "./tools.js";
import { LxcUsage } from "./usage.js";

export interface LxcBackendOptions {
  /** LXC's lxcpath (`lxc-* -P`); default `<stateDir>/lxc`. */
  lxcPath?: string;
}

const TEMPLATE_DIR = "/usr/share/lxc/templates";

export class LxcBackend implements Backend, LiveLimits {
  readonly name = "lxc" as const;
  readonly archiveFormat = ARCHIVE_FORMAT;
  private readonly path: string;
  private readonly tools: LxcTools;
  private readonly sampler: LxcUsage;

  constructor(
    private readonly ctx: BackendContext,
    opts: LxcBackendOptions = {},
  ) {
    this.path = opts.lxcPath || join(ctx.stateDir, "lxc");
    this.tools = new LxcTools(this.path);
    this.sampler = new LxcUsage(ctx.hostName);
  }

  private dir(name: string): string {
    return join(this.path, name);
  }
  private exists(name: string): boolean {
    return existsSync(join(this.dir(name), "config"));
  }
  private mustExist(name: string): void {
    if (!this.exists(name)) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`);
  }
  private network() {
    return requireNetwork(this.ctx);
  }
  private lxc(tool: string, args: string[], timeoutMs?: number) {
    return this.tools.run(tool, args, timeoutMs);
  }

  async probe(): Promise<ProbeResult> {
    const v = await LxcTools.version();
    if (!v.ok) return { available: false, reason: v.reason };
    try {
      await mkdir(this.path, { recursive: true });
      await mkdir(this.stagingRoot(), { recursive: true });
    } catch (err) {
      return { available: false, reason: `cannot create lxcpath ${this.path}: ${messageOf(err)}` };
    }
    return { available: true, reason: "" };
  }

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    const template = spec.template || "busybox";
    if (!/^[a-z0-9-]+$/.test(template) || !existsSync(join(TEMPLATE_DIR, `lxc-${template}`))) {
      throw invalidArgument(`unknown LXC template "${template}" (templates live in ${TEMPLATE_DIR})`);
    }
    if (this.exists(spec.name) || existsSync(this.dir(spec.name))) {
      throw alreadyExists(`container "${spec.name}" already exists on ${this.ctx.hostName}`);
    }
    const r = await this.lxc("create", ["-n", spec.name, "-t", template]);
    if (r.code !== 0) {
      await rm(this.dir(spec.name), { recursive: true, force: true });
      throw new CorralError("internal", `lxc-create ${spec.name} failed: ${lastLine(r.stderr || r.stdout)}`);
    }
    const cfgPath = join(this.dir(spec.name), "config");
    const cfg = new LxcConfig(await readFile(cfgPath, "utf8"));
    // Not the template's lxcbr0: a veth on this host's Corral bridge, or no network without an address.
    setNic(cfg, spec.ipv4 ? this.network().nic(spec.ipv4) : undefined);
    cfg.remove("lxc.apparmor", true).set("lxc.apparmor.profile", "unconfined");
    setCgroupDirs(cfg, this.ctx.hostName, spec.name).setLimits(spec.limits);
    await writeFile(cfgPath, cfg.toString());
    if (template === "busybox") await this.dropDhcp(spec.name);
    return this.inspect(spec.name);
  }

  /** busybox's rcS runs udhcpc, which blocks init with no network and makes lxc-stop wait out its timeout. */
  private async dropDhcp(name: string): Promise<void> {
    const rcs = join(this.dir(name), "rootfs/etc/init.d/rcS");
    if (!existsSync(rcs)) return;
    const text = await readFile(rcs, "utf8");
    await writeFile(rcs, text.split("\n").filter((l) => !l.includes("udhcpc")).join("\n"));
  }

  async start(name: string): Promise<ContainerStatus> {
    this.mustExist(name);
    const st = await this.inspect(name);
    if (st.state === "running") return st;
    const r = await this.lxc("start", ["-n", name, "-d"]);
    if (r.code !== 0) throw new CorralError("internal", `lxc-start ${name} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
    await this.lxc("wait", ["-n", name, "-s", "RUNNING", "-t", "10"]);
    return this.inspect(name);
  }

  async stop(name: string, timeoutSeconds: number): Promise<ContainerStatus> {
    this.mustExist(name);
    if ((await this.inspect(name)).state !== "running") return this.inspect(name);
    // 0 kills at once (`ct migrate --stop-timeout 0`), as Docker, LXD and OpenVZ do with 0.
    const t = Math.max(0, Math.round(timeoutSeconds));
    // lxc-stop -t: clean halt, then SIGKILL once the timeout has passed.
    const r = t === 0 ? await this.lxc("stop", ["-n", name, "-k"]) : await this.lxc("stop", ["-n", name, "-t", String(t)], (t + 15) * 1000);
    if (r.code !== 0 && (await this.inspect(name)).state === "running") {
      await this.lxc("stop", ["-n", name, "-k"]);
    }
    const st = await this.inspect(name);
    if (st.state === "running") throw new CorralError("internal", `container "${name}" did not stop`);
    return st;
  }

  async remove(name: string): Promise<void> {
    this.mustExist(name);
    if ((await this.inspect(name)).state === "running") await this.lxc("stop", ["-n", name, "-k"]);
    const r = await this.lxc("destroy", ["-n", name]);
    if (r.code !== 0 && this.exists(name)) {
      throw new CorralError("internal", `lxc-destroy ${name} failed: ${lastLine(r.stderr)}`);
    }
    await rm(this.dir(name), { recursive: true, force: true });
  }

  async inspect(name: string): Promise<ContainerStatus> {
    this.mustExist(name);
    const [info, cfgText] = await Promise.all([
      this.lxc("info", ["-n", name, "-s", "-p", "-H"]),
      readFile(join(this.dir(name), "config"), "utf8"),
    ]);
    const state = /State:\s*RUNNING/i.test(info.stdout) ? "running" : /State:\s*STOPPED/i.test(info.stdout) ? "stopped" : "unknown";
    const pid = Number(/PID:\s*(\d+)/.exec(info.stdout)?.[1] ?? 0);
    return { name, backend: "lxc", state, initPid: state === "running" ? pid : 0, limits: new LxcConfig(cfgText).limits() };
  }

  private async names(): Promise<string[]> {
    const entries = await readdir(this.path, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && this.exists(e.name)).map((e) => e.name);
  }

  async list(): Promise<ContainerStatus[]> {
    return Promise.all((await this.names()).map((n) => this.inspect(n)));
  }

  exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput> {
    this.mustExist(name);
    if (argv.length === 0) throw invalidArgument("exec needs a command");
    return this.tools.attach(name, argv, env, signal, io);
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    this.mustExist(name);
    const cfgPath = join(this.dir(name), "config");
    const cfg = new LxcConfig(await readFile(cfgPath, "utf8"));
    const merged = cfg.setLimits(limits).limits();
    if ((await this.inspect(name)).state === "running") {
      // Live: write the cgroup; persisted: the same keys in the config (lxc.cgroup.*).
      const sets: [string, string][] = [["memory.limit_in_bytes", String(merged.memoryBytes > 0 ? merged.memoryBytes : -1)]];
      sets.push(["cpu.cfs_quota_us", merged.cpus > 0 ? String(Math.round(merged.cpus * 100_000)) : "-1"]);
      for (const [k, v] of sets) {
        const r = await this.lxc("cgroup", ["-n", name, "--", k, v]);
        if (r.code !== 0) throw new CorralError("internal", `cannot set ${k} on ${name}: ${lastLine(r.stderr)}`);
      }
    }
    await writeFile(cfgPath, cfg.toString());
    return this.inspect(name);
  }

  async usage(): Promise<ContainerUsage[]> {
    return this.sampler.sample(await this.names());
  }

  async archive(name: string): Promise<ArchiveOut> {
    const st = await this.inspect(name);
    if (st.state === "running") throw failedPrecondition(`container "${name}" must be stopped to archive it`);
    return archiveDir(this.path, name);
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string): Promise<void> {
    assertArchiveFormat(this, format);
    await stageDir(name, input, stagingDir);
  }

  async commitRestore(name: string, stagingDir: string): Promise<ContainerStatus> {
    if (existsSync(this.dir(name))) throw alreadyExists(`container "${name}" already exists on ${this.ctx.hostName}`);
    const staged = join(stagingDir, name);
    const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
    await rewriteStagedConfig(stagingDir, name, this.ctx.hostName, this.dir(name), ipv4 ? this.network().nic(ipv4) : undefined);
    await rename(staged, this.dir(name));
    return this.inspect(name);
  }

  stagingRoot(): string {
    return join(this.path, ".corral-staging");
  }
}
