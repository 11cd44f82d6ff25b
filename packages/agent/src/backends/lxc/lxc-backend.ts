// LXC system containers through the real lxc-* tools, each call with an explicit `-P lxcpath`
// so several agents (emulated hosts) on one machine keep separate container sets.
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import {
  messageOf,
  alreadyExists,
  CorralError,
  failedPrecondition,
  invalidArgument,
  notFound,
  type BackendName,
  type ContainerSpec,
  type ConversionPlan,
  type ContainerStatus,
  type ContainerUsage,
  type ExecOutput,
  type ImageInfo,
  type Limits,
  type LogsOptions,
  type ExitInfo,
  type RestoreGrants,
} from "@corral/wire";
import { assertArchiveFormat, requireNetwork, type ArchiveOut, type Backend, type BackendContext, type ConversionSource, type ConvertingRestore, type ExecIo, type ExitReasons, type ImageImport, type ImageStore, type LiveLimits, type PreCopy, type ProbeResult, type ProcessGroups } from "../backend.js";
import { lastLine } from "../../process/run.js";
import { ARCHIVE_FORMAT, archiveDir, archiveRestDir, rewriteStagedConfig, stageDir, stageRestDir } from "./archive.js";
import { stageFromOpenvz } from "./convert-in.js";
import { planLxcToLxd } from "./conversion.js";
import { OPENVZ_ARCHIVE_FORMAT } from "../openvz/staged-ct.js";
import { cgroupDir, cgroupLimitFiles, CONSOLE_LOG, LxcConfig, setCgroupDirs, setConsoleLog, setLxcfs, setNesting, setNic } from "./config.js";
import { hostIdMap, idMapLines, idMapOfConfig, ownerShift } from "./id-map.js";
import { LxcImageStore, checkImageName } from "./image-store.js";
import { ProcessReader } from "../../process/container-processes.js";
import { LxcTools } from "./tools.js";
import { LxcUsage } from "./usage.js";
import { CGROUP_ROOT, detectCgroupVersion, type CgroupVersion } from "../../usage/cgroup.js";
import { copyIntoRoot, tarFromRoot, type CopyTarget } from "../../files/container-copy.js";
import { fileLogs, tailOfBuffer } from "../../files/file-logs.js";
import type { TarOut } from "../../archive/tar-stream.js";

/** lxc's log of the last start (errors only), whose tail a failed start reports. */
const EXIT_LOG_LINES = 10;

export interface LxcBackendOptions {
  /** LXC's lxcpath (`lxc-* -P`); default `<stateDir>/lxc`. */
  lxcPath?: string;
}

const TEMPLATE_DIR = "/usr/share/lxc/templates";

export class LxcBackend implements Backend, LiveLimits, ImageImport, ImageStore, ProcessGroups, ExitReasons, ConvertingRestore, ConversionSource, PreCopy {
  readonly name = "lxc" as const;
  readonly archiveFormat = ARCHIVE_FORMAT;
  /** An OpenVZ CT converts on the way in (convert-in.ts). */
  readonly convertsFrom = [OPENVZ_ARCHIVE_FORMAT];
  private readonly path: string;
  private readonly tools: LxcTools;
  private readonly sampler: LxcUsage;
  /** The last failed start of each container, kept by this agent for ct show. */
  private readonly exits = new Map<string, ExitInfo>();
  private readonly procs = new ProcessReader();
  private readonly images: LxcImageStore;
  private readonly cgroupVersion: CgroupVersion;

  constructor(
    private readonly ctx: BackendContext,
    opts: LxcBackendOptions = {},
  ) {
    this.path = opts.lxcPath || join(ctx.stateDir, "lxc");
    this.tools = new LxcTools(this.path);
    this.sampler = new LxcUsage(ctx.hostName);
    this.images = new LxcImageStore(join(this.path, ".corral-images"), ctx.hostName);
    this.cgroupVersion = detectCgroupVersion(CGROUP_ROOT);
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
      await searchableByMappedRoot(this.path, this.ctx.stateDir);
    } catch (err) {
      return { available: false, reason: `cannot create lxcpath ${this.path}: ${messageOf(err)}` };
    }
    return { available: true, reason: "" };
  }

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    if (spec.image) return this.createFromImage(spec);
    const template = spec.template || "busybox";
    if (!/^[a-z0-9-]+$/.test(template) || !existsSync(join(TEMPLATE_DIR, `lxc-${template}`))) {
      throw invalidArgument(`unknown LXC template "${template}" (templates live in ${TEMPLATE_DIR})`);
    }
    if (this.exists(spec.name) || existsSync(this.dir(spec.name))) {
      throw alreadyExists(`container "${spec.name}" already exists on ${this.ctx.hostName}`);
    }
    // Unprivileged unless asked: with lxc.idmap in the config lxc-create is given, the template
    // runs in the user namespace and the rootfs is owned by the mapped ids (seed: "unprivileged").
    const idMap = spec.privileged ? undefined : await hostIdMap();
    const createArgs = ["-n", spec.name, "-t", template];
    let defaults: string | undefined;
    if (idMap) {
      await mkdir(this.stagingRoot(), { recursive: true });
      defaults = join(this.stagingRoot(), `${spec.name}.create.conf`);
      await writeFile(defaults, idMapLines(idMap).map(([k, v]) => `${k} = ${v}\n`).join(""));
      createArgs.push("-f", defaults);
    }
    const r = await this.lxc("create", createArgs).finally(() => (defaults ? rm(defaults, { force: true }) : undefined));
    if (r.code !== 0) {
      await rm(this.dir(spec.name), { recursive: true, force: true });
      throw new CorralError("internal", `lxc-create ${spec.name} failed: ${lastLine(r.stderr || r.stdout)}`);
    }
    const cfgPath = join(this.dir(spec.name), "config");
    const cfg = new LxcConfig(await readFile(cfgPath, "utf8"));
    this.applySpec(cfg, spec);
    await writeFile(cfgPath, cfg.toString());
    if (template === "busybox") await this.dropDhcp(spec.name);
    return this.inspect(spec.name);
  }

  /**
   * A container from an image (`image import`/`image build` for lxc): the rootfs extracted with
   * mapped owners, and a config written here, as LXC's download template would: the stock
   * common.conf, the image's systemd halted by SIGRTMIN+3, and the same network, AppArmor, nesting
   * and cgroup settings as a template's container.
   */
  private async createFromImage(spec: ContainerSpec): Promise<ContainerStatus> {
    if (spec.template) throw invalidArgument("give --image or --template for an LXC container, not both");
    checkImageName(spec.image);
    if (this.exists(spec.name) || existsSync(this.dir(spec.name))) {
      throw alreadyExists(`container "${spec.name}" already exists on ${this.ctx.hostName}`);
    }
    const idMap = spec.privileged ? undefined : await hostIdMap();
    const dir = this.dir(spec.name);
    try {
      // The mapped root (a subordinate uid) must pass through to its rootfs, as lxc-create's
      // chown to the mapped root allows: search for others, never listing.
      await mkdir(dir, { mode: idMap ? 0o711 : 0o770 });
      if (idMap) await chmod(dir, 0o711);
      await this.images.extract(spec.image, join(dir, "rootfs"), idMap);
      const cfg = new LxcConfig("");
      cfg.add("lxc.include", "/usr/share/lxc/config/common.conf");
      cfg.add("lxc.arch", "x86_64");
      cfg.add("lxc.rootfs.path", `dir:${join(dir, "rootfs")}`);
      cfg.add("lxc.uts.name", spec.name);
      cfg.add("lxc.signal.halt", "SIGRTMIN+3");
      if (idMap) for (const [k, v] of idMapLines(idMap)) cfg.add(k, v);
      this.applySpec(cfg, spec);
      await writeFile(join(dir, "config"), cfg.toString());
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return this.inspect(spec.name);
  }

  /**
   * What a template's and an image's container both get from the spec: the network, AppArmor,
   * nesting, cgroup paths and limits (one place, so an image's container is never left without its NIC).
   */
  private applySpec(cfg: LxcConfig, spec: ContainerSpec): void {
    // Not a template's lxcbr0: a veth on this host's Corral bridge, or no network without an address.
    setNic(cfg, spec.ipv4 ? this.network().nic(spec.ipv4) : undefined);
    cfg.remove("lxc.apparmor", true).set("lxc.apparmor.profile", "unconfined");
    if (spec.nesting) setNesting(cfg);
    setCgroupDirs(cfg, this.ctx.hostName, spec.name).setLimits(spec.limits, this.cgroupVersion);
    setConsoleLog(setLxcfs(cfg), this.dir(spec.name));
  }

  async importImage(name: string, tarball: Readable): Promise<ImageInfo> {
    return this.images.put(name, tarball);
  }
  listImages(): Promise<ImageInfo[]> {
    return this.images.list();
  }
  removeImage(name: string): Promise<void> {
    return this.images.remove(name);
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
    // lxc-start's own stderr only says to look at a log: keep one for this start (outside the
    // container's directory, so it never travels), report its first error (e.g. a path the mapped
    // root cannot reach), and keep its tail for ct show instead of naming a file on this host.
    const log = join(tmpdir(), `corral-lxc-start-${process.pid}-${this.ctx.hostName}-${name}.log`);
    const r = await this.lxc("start", ["-n", name, "-d", "-l", "ERROR", "-o", log]);
    const logBytes = await readFile(log).catch(() => Buffer.alloc(0));
    await rm(log, { force: true });
    if (r.code !== 0) {
      // lxc-start's own closing advice (run in the foreground, set --logfile) names nothing the user can do here.
      const logText = logBytes.toString("utf8").split("\n").filter((l) => !/tools\/lxc_start\.c:main/.test(l)).join("\n");
      const logTail = tailOfBuffer(Buffer.from(logText), EXIT_LOG_LINES).toString("utf8");
      const first = logText.split("\n").find((l) => / ERROR /.test(l));
      const why = first?.replace(/^.*? ERROR\s+\S+ - \S+ - /, "") || lastLine(r.stderr) || `exit ${r.code}`;
      const exit: ExitInfo = { exitCode: -1, atUnixMs: Date.now(), reason: `lxc-start failed: ${why}`, logTail };
      this.exits.set(name, exit);
      throw new CorralError("internal", `lxc-start ${name} failed: ${why}${logTail ? `\nlxc's log:\n${logTail.trimEnd()}` : ""}`);
    }
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
    this.exits.delete(name);
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

  /** The fixed group every container of this host gets (lxc.cgroup.dir.container), while it exists. */
  async processGroup(name: string): Promise<string | undefined> {
    const rel = cgroupDir(this.ctx.hostName, name);
    return (await this.procs.hasGroup(rel)) ? rel : undefined;
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    this.mustExist(name);
    const cfgPath = join(this.dir(name), "config");
    const cfg = new LxcConfig(await readFile(cfgPath, "utf8"));
    cfg.setLimits(limits, this.cgroupVersion);
    if ((await this.inspect(name)).state === "running") {
      // Live: the container's own cgroup files, in the order cgroupLimitFiles gives; persisted: the
      // same values as lxc.cgroup(2).* keys in the config, which the next start applies.
      const rel = cgroupDir(this.ctx.hostName, name);
      for (const f of cgroupLimitFiles(limits, this.cgroupVersion)) {
        const ctrl = f.file.slice(0, f.file.indexOf("."));
        const path = this.cgroupVersion === 2 ? join(CGROUP_ROOT, rel, f.file) : join(CGROUP_ROOT, ctrl, rel, f.file);
        await writeFile(path, f.value).catch((err: NodeJS.ErrnoException) => {
          // A host without swap accounting has no memsw file: nothing to lift there.
          if (err.code === "ENOENT" && !f.limited) return;
          throw new CorralError(err.code === "EINVAL" || err.code === "EBUSY" ? "invalid_argument" : "internal", `cannot set ${f.file} of ${name} to ${f.value}: ${err.message}`, err);
        });
      }
    }
    await writeFile(cfgPath, cfg.toString());
    return this.inspect(name);
  }

  async lastExit(name: string): Promise<ExitInfo | undefined> {
    return this.exits.get(name);
  }

  async copyIn(name: string, target: CopyTarget, tar: Readable): Promise<void> {
    this.mustExist(name);
    await copyIntoRoot(await this.rootfs(name), target, tar, await this.ownerShift(name));
  }

  async copyOut(name: string, path: string): Promise<TarOut> {
    this.mustExist(name);
    return tarFromRoot(await this.rootfs(name), path, await this.ownerShift(name));
  }

  /** An unprivileged container's files are owned by its mapped ids: ct cp shows and takes the ids inside. */
  private async ownerShift(name: string) {
    const map = idMapOfConfig(await readFile(join(this.dir(name), "config"), "utf8"));
    return map ? ownerShift(map) : undefined;
  }

  logs(name: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer> {
    this.mustExist(name);
    return fileLogs(join(this.dir(name), CONSOLE_LOG), opts, signal);
  }

  /** The rootfs directory from lxc.rootfs.path ("dir:" or a bare path); other storage is refused. */
  private async rootfs(name: string): Promise<string> {
    const cfg = new LxcConfig(await readFile(join(this.dir(name), "config"), "utf8"));
    const raw = cfg.get("lxc.rootfs.path") ?? join(this.dir(name), "rootfs");
    const path = raw.startsWith("dir:") ? raw.slice(4) : raw;
    if (!path.startsWith("/")) throw failedPrecondition(`container "${name}" has a rootfs on ${raw}; only directory rootfs can be copied to`);
    return path;
  }

  async usage(): Promise<ContainerUsage[]> {
    return this.sampler.sample(await this.names());
  }

  /** What of the config an LXD instance keeps (ct migrate --backend lxd), as lxc-to-lxd reports it. */
  async planConversion(name: string, target: BackendName): Promise<ConversionPlan> {
    this.mustExist(name);
    if (target !== "lxd") throw invalidArgument(`an LXC container converts to lxd, not ${target}`);
    return planLxcToLxd(await readFile(join(this.dir(name), "config"), "utf8"));
  }

  async archive(name: string): Promise<ArchiveOut> {
    const st = await this.inspect(name);
    if (st.state === "running") throw failedPrecondition(`container "${name}" must be stopped to archive it`);
    return archiveDir(this.path, name);
  }

  /** Pre-copy syncs the rootfs in the container's own directory (the one archiveRest leaves out). */
  async precopyTree(name: string): Promise<string> {
    const rootfs = await this.rootfs(name);
    if (resolve(rootfs) !== join(this.dir(name), "rootfs")) throw failedPrecondition(`container "${name}" has its rootfs at ${rootfs}, not in its directory: no pre-copy`);
    return rootfs;
  }

  async archiveRest(name: string): Promise<ArchiveOut> {
    const st = await this.inspect(name);
    if (st.state === "running") throw failedPrecondition(`container "${name}" must be stopped to archive it`);
    return archiveRestDir(this.path, name);
  }

  async stageRest(name: string, format: string, input: Readable, stagingDir: string, tree: string, grants?: RestoreGrants, treeReady?: Promise<void>): Promise<void> {
    if (format !== ARCHIVE_FORMAT) throw invalidArgument(`a pre-copied ${this.name} container restores from "${ARCHIVE_FORMAT}", not "${format}"`);
    await stageRestDir(name, input, stagingDir, tree, grants, treeReady);
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string, grants?: RestoreGrants): Promise<void> {
    assertArchiveFormat(this, format);
    if (format === OPENVZ_ARCHIVE_FORMAT) await stageFromOpenvz(name, input, stagingDir, grants);
    else await stageDir(name, input, stagingDir, grants);
  }

  async commitRestore(name: string, stagingDir: string, grants?: RestoreGrants): Promise<ContainerStatus> {
    if (existsSync(this.dir(name))) throw alreadyExists(`container "${name}" already exists on ${this.ctx.hostName}`);
    const staged = join(stagingDir, name);
    const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
    await rewriteStagedConfig(stagingDir, name, this.ctx.hostName, this.dir(name), ipv4 ? this.network().nic(ipv4) : undefined, grants);
    await rename(staged, this.dir(name));
    return this.inspect(name);
  }

  stagingRoot(): string {
    return join(this.path, ".corral-staging");
  }
}

/**
 * An unprivileged container's root is a subordinate uid on the host, neither owner nor group of
 * the agent's directories, so lxc-start needs the "other" search bit on every directory above the
 * rootfs. The agent's state directory is made 0700 with its keys (the keys themselves stay in tls/,
 * 0700): give search, never listing, to the directories the agent owns (lxcpath up to its state
 * directory). Directories above those are the operator's; lxc-start names one it cannot pass.
 */
async function searchableByMappedRoot(lxcPath: string, stateDir: string): Promise<void> {
  const top = resolve(stateDir);
  for (let dir = resolve(lxcPath); ; dir = dirname(dir)) {
    const inside = dir === top || dir.startsWith(`${top}/`) || dir === resolve(lxcPath);
    if (!inside) return;
    const st = await stat(dir);
    if (!(st.mode & 0o001)) await chmod(dir, (st.mode & 0o7777) | 0o001);
    if (dir === top || dir === "/") return;
  }
}
