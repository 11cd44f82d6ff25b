// OpenVZ 6 through vzctl/vzlist (vzctl 4.x). Paths come from the host's vz.conf (VE_PRIVATE,
// VE_ROOT, TEMPLATE, with $VEID); CTID.conf and the action scripts live in the conf directory beside
// it. Which CTs run comes from /proc/vz/veinfo, usage from the beancounters and fairsched (see
// proc-files.ts), under a proc root the agent is given. Migration is the seed's manual sequence
// done as vzmigrate does it: stop, tar of the private area (its real directory, with numeric
// owners), CTID.conf, the action scripts and the per-UID/GID quota dump (vzdqdump), copy, extract,
// quota init and vzdqload, start.
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import {
  alreadyExists,
  type AddressInUse,
  CorralError,
  failedPrecondition,
  invalidArgument,
  notFound,
  messageOf,
  type BackendName,
  type ContainerSpec,
  type ConversionPlan,
  type ContainerStatus,
  type ContainerUsage,
  type ExecOutput,
  type ImageInfo,
  type Limits,
  type LogsOptions,
} from "@corral/wire";
import { assertArchiveFormat, requireNetwork, type AddressHolder, type ArchiveOut, type Backend, type BackendContext, type ConversionSource, type ExecIo, type LiveLimits, type ProbeResult, type ProcessGroups } from "../backend.js";
import { ProcessReader } from "../../process/container-processes.js";
import { createTarStream, treeSize, type TarOut } from "../../archive/tar-stream.js";
import { copyIntoRoot, tarFromRoot, type CopyTarget } from "../../files/container-copy.js";
import { fileLogs } from "../../files/file-logs.js";
import { execTool } from "../../process/exec-io.js";
import { CtidMap } from "./ctid-map.js";
import { limitArgs, limitsFromConfig, parseConfig, rewriteConfigForHost, substVeid } from "./config.js";
import { besideVzctl, lastLine, shellQuote, VZ_EXIT, vzExit, VzTools, type VzCommand } from "./tools.js";
import { CpuPercent } from "../../usage/cgroup.js";
import { usageFromCgroup } from "../../usage/container-usage.js";
import { OpenvzProc, type VeinfoRow } from "./proc-files.js";
import { confOf, findTemplate, privateOf, readVzPaths, TEMPLATE_EXTENSIONS, vzctlVersion, type VzPaths } from "./vz-conf.js";
import { ACTION_SCRIPTS, QUOTA_DUMP_SUFFIX, checkStagedOpenvz, isHostActionScript, renumberNetif } from "./config-policy.js";
import { formatVzdqdump, parseVzdqdump, VZDQ_ALL, VZDQ_EXIT, type UgidQuotaDump } from "./vzdq-dump.js";
import { ARCHIVE_CONF_DIR, ARCHIVE_PRIVATE_DIR, OPENVZ_ARCHIVE_FORMAT, readStagedCt, stageOpenvzArchive } from "./staged-ct.js";
import { planConversion } from "./conversion.js";
import { ip } from "../../network/net-tools.js";
import type { Nic } from "../../network/nic.js";
import { imageBase, LxcImageStore, tarballKind } from "../lxc/image-store.js";
import { run } from "../../process/run.js";


/** What `ct exec -t` gets on OpenVZ, whose tools give a terminal only to `vzctl enter`'s shell. */
export const OPENVZ_TERMINAL_REFUSAL =
  "exec on a terminal (ct exec -t) is not supported on OpenVZ: vzctl exec2 runs without a terminal and vzctl enter does not return the command's exit code; run the command without -t, or open a shell with ct shell";

export interface OpenvzBackendOptions {
  /** vzctl binary (default "vzctl" on PATH; the stand-in is deploy/openvz-standin/vzctl). */
  vzctl?: string;
  /** vzlist binary (default "vzlist"). */
  vzlist?: string;
  /** Root the stand-in relocates its host under (VZ_ROOT, default "/"); real vzctl ignores it. */
  vzRoot?: string;
  /** The host's global OpenVZ configuration (default `<vzRoot>/etc/vz/vz.conf`, i.e. /etc/vz/vz.conf). */
  vzConf?: string;
  /** Where the kernel's OpenVZ files are: vz/veinfo, bc/, user_beancounters, vz/fairsched (default /proc). */
  procRoot?: string;
  /** Lowest CTID this backend allocates (default 101: OpenVZ reserves 0–100). */
  ctidBase?: number;
  /** cgroup parent the stand-in puts its CTs under (default `vz/<hostName>`), passed as VZ_CGROUP_PREFIX. */
  cgroupPrefix?: string;
  /**
   * Whether a CT moved in from another host brings its host-side action scripts (CTID.mount,
   * .umount, .premount, .postumount), which vzctl runs as root here: "install" trusts the other
   * hosts as vzmigrate's root ssh does; "refuse" (the default) refuses such a CT, naming the script.
   */
  hostScripts?: "install" | "refuse";
}

const ctRef = (name: string, ctid: number) => `container "${name}" (CT ${ctid})`;


const sedEscape = (s: string) => s.replace(/[\\.*[\]^$,&]/g, "\\$&");

/**
 * The file name vzctl takes an image's bytes under as an OS template: TEMPLATE/cache/NAME.tar or
 * .tar.gz as they are. vzctl 4.x cannot read zstd (Corral's built images are zstd), so such an
 * image is decompressed into NAME.tar; its SHA-256 stays the one of the bytes that arrived.
 */
async function templateFileName(base: string, tmpFile: string): Promise<string> {
  const kind = await tarballKind(tmpFile);
  if (kind === "gzip") return `${base}.tar.gz`;
  if (kind === "zstd") {
    const plain = `${tmpFile}.tar`;
    try {
      const r = await run("zstd", ["-q", "-d", "-f", tmpFile, "-o", plain], { timeoutMs: 900_000 });
      if (r.code !== 0) throw invalidArgument(`image is not a readable zstd tarball: ${r.stderr.trim().split("\n").pop() ?? ""}`);
      await rename(plain, tmpFile);
    } finally {
      await rm(plain, { force: true });
    }
  }
  return `${base}.tar`;
}

export class OpenvzBackend implements Backend, LiveLimits, ProcessGroups, ConversionSource, AddressHolder {
  readonly name = "openvz" as const;
  readonly archiveFormat = OPENVZ_ARCHIVE_FORMAT;
  private readonly tools: VzTools;
  private readonly procs = new ProcessReader();
  private readonly map: CtidMap;
  private readonly vzRoot: string;
  private readonly vzConf: string;
  private readonly proc: OpenvzProc;
  private readonly ctidBase: number;
  private readonly cpu = new CpuPercent();
  private readonly hostScripts: "install" | "refuse";

  constructor(
    private readonly ctx: BackendContext,
    opts: OpenvzBackendOptions = {},
  ) {
    this.vzRoot = (opts.vzRoot ?? "/").replace(/\/+$/, "") || "/";
    this.vzConf = opts.vzConf ?? join(this.vzRoot, "etc/vz/vz.conf");
    this.proc = new OpenvzProc(opts.procRoot ?? "/proc");
    this.ctidBase = opts.ctidBase ?? 101;
    this.hostScripts = opts.hostScripts ?? "refuse";
    const vzctl = opts.vzctl ?? "vzctl";
    this.tools = new VzTools({
      vzctl,
      vzlist: opts.vzlist ?? "vzlist",
      vzdqdump: besideVzctl(vzctl, "vzdqdump"),
      vzdqload: besideVzctl(vzctl, "vzdqload"),
      env: {
        VZ_ROOT: this.vzRoot,
        VZ_PROC_ROOT: this.proc.root,
        // Emulated hosts (a VZ root of their own) of two clusters on one machine share host names and
        // CTIDs: the root's hash keeps their cgroups apart (CT 101 of another cluster's host1 is not ours).
        VZ_CGROUP_PREFIX:
          opts.cgroupPrefix ??
          (this.vzRoot === "/" ? `vz/${ctx.hostName}` : `vz/${ctx.hostName}-${createHash("sha256").update(this.vzRoot).digest("hex").slice(0, 8)}`),
      },
    });
    this.map = new CtidMap(join(ctx.stateDir, "openvz", "ctids.json"));
  }

  // ---- paths ----
  private paths(): Promise<VzPaths> {
    return readVzPaths(this.vzConf);
  }

  /** Images become OS templates in vz.conf's TEMPLATE/cache, where vzctl create looks for them. */
  private async images(): Promise<LxcImageStore> {
    return new LxcImageStore((await this.paths()).templateCache, this.ctx.hostName, { backend: "openvz", fileName: templateFileName });
  }

  // ---- images: OS templates ----

  async importImage(name: string, tarball: Readable): Promise<ImageInfo> {
    return (await this.images()).put(name, tarball);
  }

  async listImages(): Promise<ImageInfo[]> {
    // A host without vz.conf holds no templates (probe says why OpenVZ is unavailable there).
    const store = await this.images().catch(() => undefined);
    return store ? store.list() : [];
  }

  async removeImage(name: string): Promise<void> {
    await (await this.images()).remove(name);
  }

  stagingRoot(): string {
    // Beside the private areas (the parent of VE_PRIVATE), so commitRestore's rename stays on one
    // filesystem. Read synchronously: the interface asks for a path, and vz.conf is tiny.
    let privTemplate = join(this.vzRoot, "vz/private/$VEID");
    try {
      privTemplate = parseConfig(readFileSync(this.vzConf, "utf8")).get("VE_PRIVATE") ?? privTemplate;
    } catch {
      /* probe reports a missing vz.conf */
    }
    return join(dirname(privTemplate), "corral-staging");
  }

  async probe(): Promise<ProbeResult> {
    let version: VzCommand;
    try {
      version = await this.tools.vzctl(["--version"]);
    } catch {
      return { available: false, reason: `vzctl not found (${this.tools.opts.vzctl})` };
    }
    const line = `${version.stdout}${version.stderr}`.trim().split("\n")[0] ?? "";
    if (version.code !== 0) return { available: false, reason: `vzctl --version failed: ${line}` };
    const v = vzctlVersion(line);
    if (!v) return { available: false, reason: `cannot read vzctl's version from "${line}"` };
    // OpenVZ 7 (vzctl 7.x, libvzctl) is another system: ploop only (--layout simfs exits 20), no
    // `vzlist -t`, CT cgroups under machine.slice, no beancounters in /proc/bc. Corral drives OpenVZ 6.
    if (v.major >= 5) {
      return {
        available: false,
        reason: `vzctl ${v.text} is OpenVZ 7 (ploop only, machine.slice cgroups): Corral supports OpenVZ 6 (vzctl 4.x) only`,
      };
    }
    try {
      await this.tools.vzlist(["--help"]);
    } catch {
      return { available: false, reason: `vzlist not found (${this.tools.opts.vzlist})` };
    }
    try {
      await this.paths();
    } catch (err) {
      return { available: false, reason: (err as Error).message };
    }
    if (!(await this.proc.running())) {
      return { available: false, reason: `vzctl ${v.text} found, but ${this.proc.root}/vz/veinfo is missing: this is not an OpenVZ kernel` };
    }
    if (/STAND-IN/.test(line)) return { available: true, reason: `stand-in, not OpenVZ: ${line}` };
    return { available: true, reason: line };
  }

  // ---- lifecycle ----

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    if (spec.image && spec.template) throw invalidArgument("openvz containers are made from an OS template or an --image (which is kept as one), not both");
    if (!spec.template && !spec.image) throw invalidArgument("openvz containers need --template (an OS template in the template cache) or --image");
    if (spec.cmd.length) throw invalidArgument("openvz containers run their template's /sbin/init; --cmd is not supported");
    const paths = await this.paths();
    // An image (image import/build --backend openvz) is an OS template under its name, ":" as "_".
    if (spec.image && !(await this.images()).has(spec.image)) {
      throw failedPrecondition(`image "${spec.image}" is not on host ${this.ctx.hostName}: import or build it for openvz first (corral image import FILE --name ${spec.image} --backend openvz)`);
    }
    const template = spec.image ? imageBase(spec.image) : spec.template;
    if (!findTemplate(paths, template)) {
      throw invalidArgument(`OS template "${template}" not found in ${paths.templateCache} (as ${TEMPLATE_EXTENSIONS.map((e) => template + e).join(", ")})`);
    }
    limitArgs(spec.limits); // refused before anything is created
    return this.map.locked(async () => {
      if (this.map.has(spec.name)) throw alreadyExists(`container "${spec.name}" already exists`);
      const ctid = await this.freeCtid(paths);
      await this.map.set(spec.name, ctid);
      try {
        const created = await this.tools.vzctl([
          "create", String(ctid), "--ostemplate", template, "--layout", "simfs",
          "--name", spec.name, "--hostname", spec.name,
        ]);
        if (created.code === VZ_EXIT.templateMissing) {
          throw invalidArgument(`OS template "${template}" not found: ${lastLine(created)}`);
        }
        this.check(created, `create ${ctRef(spec.name, ctid)}`);
        // The seed's veth on a bridge (vzctl set --netif_add eth0,,vethN.0,,br0), on this host's Corral bridge.
        const nic = spec.ipv4 ? requireNetwork(this.ctx).nic(spec.ipv4) : undefined;
        // The sample config's own limits that Corral was not asked for (its DISKSPACE) stay, as vzctl create leaves them.
        const set = await this.tools.vzctl(["set", String(ctid), ...limitArgs(spec.limits), ...netifArgs(ctid, nic), "--save"]);
        this.check(set, `set limits on ${ctRef(spec.name, ctid)}`);
      } catch (err) {
        await this.tools.vzctl(["destroy", String(ctid)]).catch(() => undefined);
        await this.map.delete(spec.name);
        throw err;
      }
      return { name: spec.name, backend: "openvz", state: "stopped", initPid: 0, limits: { ...spec.limits } };
    });
  }

  async start(name: string): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    const r = await this.tools.vzctl(["start", String(ctid)]);
    if (r.code !== VZ_EXIT.running) this.check(r, `start ${ctRef(name, ctid)}`);
    await this.configureAddress(name, ctid);
    return this.status(name, ctid);
  }

  async stop(name: string, timeoutSeconds: number): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    if (!(await this.runningRow(ctid))) return this.status(name, ctid);
    // vzctl stop runs halt inside the CT; past the caller's timeout it is killed (its lock goes
    // stale with it) and `vzctl stop --fast` kills the CT's init.
    const clean = await this.tools.vzctl(["stop", String(ctid)], { timeoutMs: Math.max(timeoutSeconds, 0) * 1000 + 1 });
    if (clean.code !== 0) {
      const fast = await this.tools.vzctl(["stop", String(ctid), "--fast"]);
      if (fast.code !== VZ_EXIT.notRunning) this.check(fast, `stop ${ctRef(name, ctid)}`);
    }
    // A stop killed between the kill and the unmount leaves the private area mounted.
    await this.umountIfMounted(ctid);
    return this.status(name, ctid);
  }

  async remove(name: string): Promise<void> {
    await this.map.locked(async () => {
      const ctid = this.mapped(name, await this.map.get(name));
      if (await this.runningRow(ctid)) {
        const r = await this.tools.vzctl(["stop", String(ctid), "--fast"]);
        if (r.code !== VZ_EXIT.notRunning) this.check(r, `stop ${ctRef(name, ctid)}`);
      }
      let r = await this.tools.vzctl(["destroy", String(ctid)]);
      if (r.code === VZ_EXIT.mounted) {
        // vzctl refuses to destroy a mounted CT (a stop that died before unmounting): unmount first.
        this.check(await this.tools.vzctl(["umount", String(ctid)]), `unmount ${ctRef(name, ctid)}`);
        r = await this.tools.vzctl(["destroy", String(ctid)]);
      }
      // A private area already gone (removed by hand) is not a reason to keep the mapping.
      if (r.code !== 0 && existsSync(confOf(await this.paths(), ctid))) this.check(r, `destroy ${ctRef(name, ctid)}`);
      await this.map.delete(name);
      this.cpu.forget(String(ctid));
    });
  }

  async inspect(name: string): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    if (!existsSync(confOf(await this.paths(), ctid))) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`);
    return this.status(name, ctid);
  }

  async list(): Promise<ContainerStatus[]> {
    const entries = await this.map.entries();
    if (!entries.length) return [];
    const [paths, running] = await Promise.all([this.paths(), this.runningRows()]);
    const out: ContainerStatus[] = [];
    for (const [name, ctid] of entries) {
      if (!existsSync(confOf(paths, ctid))) continue;
      out.push(await this.status(name, ctid, paths, running));
    }
    return out;
  }

  /**
   * The CT's group as /proc/PID/cgroup names it: its init's (the init joined the CT's group first).
   * On a real OpenVZ kernel this is where /proc/vz/fairsched/CTID/cgroup.procs would be read.
   */
  async processGroup(name: string): Promise<string | undefined> {
    return this.procs.groupOfInit((await this.inspect(name)).initPid);
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    const current = (await this.status(name, ctid)).limits;
    const r = await this.tools.vzctl(["set", String(ctid), ...limitArgs(limits, current), "--save"]);
    this.check(r, `set limits on ${ctRef(name, ctid)}`);
    return this.status(name, ctid);
  }

  async *exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput> {
    if (!argv.length) throw invalidArgument("exec needs a command");
    const ctid = await this.ctid(name);
    if (!(await this.runningRow(ctid))) {
      throw failedPrecondition(`container "${name}" is not running on ${this.ctx.hostName}`);
    }
    for (const e of env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw invalidArgument(`bad environment entry "${e}": use NAME=value`);
    // vzctl exec2 runs without a terminal, and vzctl enter (the only way onto one) returns 0 however
    // its shell ended (vzctl 4.x do_enter): a command on a terminal could not give back its exit
    // code, so only the login shell (ct shell, which is what enter is for) gets one.
    if (io?.tty && !io.login) throw failedPrecondition(OPENVZ_TERMINAL_REFUSAL);
    // vzctl joins its arguments and runs them with a shell, so argv is quoted word by word;
    // exec2 (unlike exec, which says 8) exits with the command's own status, and 3 when the
    // command was killed by a signal.
    const words = [...(env.length ? ["env", ...env] : []), ...argv].map(shellQuote);
    // A login shell on a terminal is what `vzctl enter` is for; anything else is exec2.
    const args = io?.login && io.tty ? ["enter", String(ctid)] : ["exec2", String(ctid), `exec ${words.join(" ")}`];
    yield* execTool(this.tools.vzctlCommand(args), io, signal, `exec in container "${name}" failed`);
  }

  // ---- files and logs ----

  /** Into the private area, which a running CT sees bind-mounted as its root. */
  async copyIn(name: string, target: CopyTarget, tar: Readable): Promise<void> {
    await copyIntoRoot(await this.privateArea(name), target, tar);
  }

  async copyOut(name: string, path: string): Promise<TarOut> {
    return tarFromRoot(await this.privateArea(name), path);
  }

  /**
   * The CT's console. OpenVZ itself keeps no console log (`vzctl console` attaches to a live tty);
   * the stand-in writes what its init prints to var/log/vz-console/CTID.log under VZ_ROOT.
   */
  async *logs(name: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer> {
    const ctid = await this.ctid(name);
    yield* fileLogs(join(this.vzRoot, "var/log/vz-console", `${ctid}.log`), opts, signal);
  }

  private async privateArea(name: string): Promise<string> {
    const ctid = await this.ctid(name);
    const paths = await this.paths();
    const conf = parseConfig(await readFile(confOf(paths, ctid), "utf8"));
    return substVeid(conf.get("VE_PRIVATE") ?? paths.privateTemplate, ctid);
  }

  async usage(): Promise<ContainerUsage[]> {
    const entries = this.map.snapshot();
    const running = (await this.proc.running()) ?? new Map<number, VeinfoRow>();
    return Promise.all(
      entries.map(async ([name, ctid]) =>
        usageFromCgroup(name, "openvz", await this.proc.sample(ctid, running.get(ctid)), this.cpu, String(ctid)),
      ),
    );
  }

  // ---- migration ----

  /** What of the CT's CTID.conf an LXC or LXD container would keep (ct migrate --backend). */
  async planConversion(name: string, target: BackendName): Promise<ConversionPlan> {
    if (target !== "lxc" && target !== "lxd") throw invalidArgument(`an OpenVZ container converts to lxc or lxd, not ${target}`);
    const ctid = await this.ctid(name);
    const paths = await this.paths();
    const confText = await readFile(confOf(paths, ctid), "utf8");
    const quotas = await this.ugidQuotas(ctid, parseConfig(confText), paths);
    const plan = planConversion(confText, target, { actionScripts: this.actionScripts(ctid, paths), ugidQuotas: quotas?.entries ?? [] });
    return {
      sourceBackend: "openvz",
      targetBackend: target,
      carried: plan.carried.map((c) => ({ key: c.key, detail: c.becomes })),
      dropped: plan.dropped.map((d) => ({ key: d.key, detail: d.why })),
    };
  }

  async archive(name: string): Promise<ArchiveOut> {
    const ctid = await this.ctid(name);
    if (await this.runningRow(ctid)) {
      throw failedPrecondition(`container "${name}" is running; stop it before archiving`);
    }
    const paths = await this.paths();
    const confFile = confOf(paths, ctid);
    const conf = parseConfig(await readFile(confFile, "utf8"));
    // A symlinked VE_PRIVATE is archived as the directory it points to, not as the link.
    const priv = await realpath(substVeid(conf.get("VE_PRIVATE") ?? paths.privateTemplate, ctid)).catch((err: NodeJS.ErrnoException) => {
      throw failedPrecondition(`private area of ${ctRef(name, ctid)} is missing (${err.code ?? err.message})`, err);
    });
    if (priv === "/") throw failedPrecondition(`private area of ${ctRef(name, ctid)} is the root directory`);
    const estimatedBytes = await treeSize(priv);
    // What vzmigrate copies beside the private area, gathered in a directory of its own: CTID.conf,
    // the action scripts, and the per-UID/GID quotas as vzdqdump prints them.
    const quotas = await this.ugidQuotas(ctid, conf, paths);
    const meta = await mkdtemp(join(tmpdir(), "corral-ovz-out-"));
    const members = [`${ctid}.conf`, ...this.actionScripts(ctid, paths)];
    try {
      for (const f of members) await copyFile(join(paths.confDir, f), join(meta, f));
      if (quotas) {
        await writeFile(join(meta, `${ctid}.${QUOTA_DUMP_SUFFIX}`), formatVzdqdump(quotas));
        members.push(`${ctid}.${QUOTA_DUMP_SUFFIX}`);
      }
    } catch (err) {
      await rm(meta, { recursive: true, force: true });
      throw err;
    }
    // One tar in the seed's layout whatever this host's paths: var/lib/vz/private/CTID (numeric
    // owners) and etc/vz/conf/ with CTID.conf and the rest.
    const base = basename(priv);
    const tar = createTarStream(meta, members, {
      transforms: [
        `s,^${sedEscape(base)}\\(/\\|$\\),${ARCHIVE_PRIVATE_DIR}/${ctid}\\1,S`,
        `s,^\\(${ctid}\\.[a-z]*\\)$,${ARCHIVE_CONF_DIR}/\\1,S`,
      ],
      more: { dir: dirname(priv), members: [base] },
    });
    const finished = tar.finished.finally(() => rm(meta, { recursive: true, force: true }));
    return { format: OPENVZ_ARCHIVE_FORMAT, estimatedBytes, stream: tar.stream, finished };
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string): Promise<void> {
    assertArchiveFormat(this, format);
    await stageOpenvzArchive(input, stagingDir);
    const staged = await readStagedCt(name, stagingDir);
    await this.refuseIpCollision(name, staged.confText);
  }

  async commitRestore(name: string, stagingDir: string): Promise<ContainerStatus> {
    await checkStagedOpenvz(stagingDir);
    const staged = await readStagedCt(name, stagingDir);
    const paths = await this.paths();
    await this.refuseIpCollision(name, staged.confText);
    const hostSide = staged.scripts.filter((s) => isHostActionScript(s.action));
    if (hostSide.length && this.hostScripts !== "install") {
      throw failedPrecondition(
        `container "${name}" brings the host-side action script "${staged.ctid}.${hostSide[0]!.action}", which vzctl would run as root on ${this.ctx.hostName}: ` +
          "review it and copy it by hand, or start this host's agent with --openvz-host-scripts install to carry such scripts as vzmigrate does",
      );
    }
    // Parsed before anything is installed: a dump vzdqload would refuse must not fail the move half way.
    const quotas = staged.quotaDump ? parseVzdqdump(await readFile(staged.quotaDump, "utf8")) : undefined;
    return this.map.locked(async () => {
      if (this.map.has(name)) throw alreadyExists(`container "${name}" already exists`);
      // Keep the source's CTID when it is free here, as vzmigrate does; else take a free one and
      // rename the CT's host-side veth devices after it.
      const ctid = (await this.ctidFree(staged.ctid, paths)) ? staged.ctid : await this.freeCtid(paths);
      // On the cluster network the CT gets this host's veth on the Corral bridge (its NETIF is
      // replaced); without it the CT's own NETIF stays, renamed after a new CTID.
      const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
      const nic = ipv4 ? requireNetwork(this.ctx).nic(ipv4) : undefined;
      let confText = rewriteConfigForHost(
        staged.confText,
        { VE_PRIVATE: paths.privateTemplate, VE_ROOT: paths.rootTemplate },
        nic ? ["NAME", "NETIF"] : ["NAME"],
      );
      if (ctid !== staged.ctid) confText = renumberNetif(confText, staged.ctid, ctid);
      const priv = privateOf(paths, ctid);
      const confFile = confOf(paths, ctid);
      await mkdir(dirname(priv), { recursive: true });
      await mkdir(paths.confDir, { recursive: true });
      await rename(staged.privateDir, priv);
      const installed: string[] = [];
      try {
        const tmp = `${confFile}.corral-tmp`;
        await writeFile(tmp, confText);
        await rename(tmp, confFile);
        for (const script of staged.scripts) {
          const to = join(paths.confDir, `${ctid}.${script.action}`);
          await copyFile(script.path, to);
          installed.push(to);
        }
        this.check(await this.tools.vzctl(["set", String(ctid), "--name", name, ...netifArgs(ctid, nic), "--save"]), `name ${ctRef(name, ctid)}`);
        // vzmigrate initialises the disk quota of a moved simfs CT on the target, then loads the
        // per-UID/GID quotas it dumped on the source (vzdqload CTID -U -G -T).
        if (paths.diskQuota) {
          this.check(await this.tools.vzctl(["quotainit", String(ctid)]), `initialise the disk quota of ${ctRef(name, ctid)}`);
          if (quotas?.on) {
            const loaded = await this.tools.vzdqload([String(ctid), ...VZDQ_ALL], formatVzdqdump(quotas));
            if (loaded.code !== 0) {
              throw new CorralError("internal", `could not load the per-UID/GID quotas of ${ctRef(name, ctid)} on ${this.ctx.hostName}: ${lastLine(loaded)} (vzdqload exit ${loaded.code})`);
            }
          }
        }
        await this.map.set(name, ctid);
      } catch (err) {
        for (const f of installed) await rm(f, { force: true });
        await rm(confFile, { force: true });
        await rename(priv, staged.privateDir).catch(() => undefined);
        throw err;
      }
      return this.status(name, ctid);
    });
  }

  /**
   * The addresses this host's CTs hold, as `vzlist -a -o ip` lists them: each CT's IP_ADDRESS in its
   * CTID.conf (running or not) and the running ones' in /proc/vz/veinfo; named after their Corral
   * container when Corral made them.
   */
  async addressesInUse(): Promise<AddressInUse[]> {
    const paths = await this.paths();
    const names = new Map(this.map.snapshot().map(([name, ctid]) => [ctid, name]));
    const held = new Map<string, AddressInUse>();
    const add = (ip: string, ctid: number) => {
      const address = ip.replace(/\/\d+$/, "");
      const name = names.get(ctid);
      if (!held.has(address)) held.set(address, { address, holder: `CT ${ctid}`, ...(name ? { container: name } : {}) });
    };
    for (const row of ((await this.proc.running()) ?? new Map<number, VeinfoRow>()).values()) for (const ip of row.ips) add(ip, row.ctid);
    for (const f of await readdir(paths.confDir).catch(() => [] as string[])) {
      if (!/^\d+\.conf$/.test(f)) continue;
      const ips = parseConfig(await readFile(join(paths.confDir, f), "utf8").catch(() => "")).get("IP_ADDRESS") ?? "";
      for (const ip of ips.split(/\s+/).filter(Boolean)) add(ip, Number(f.slice(0, -5)));
    }
    return [...held.values()];
  }

  /**
   * vzmigrate's check, again at the last moment (the controller's pre-flight asked first): an IP
   * address of the incoming CT that a CT of this host already has is refused before anything is installed.
   */
  private async refuseIpCollision(name: string, confText: string): Promise<void> {
    const wanted = (parseConfig(confText).get("IP_ADDRESS") ?? "").split(/\s+/).filter(Boolean).map((ip) => ip.replace(/\/\d+$/, ""));
    if (!wanted.length) return;
    const holders = new Map((await this.addressesInUse()).map((a) => [a.address, a.holder]));
    for (const ip of wanted) {
      const holder = holders.get(ip);
      if (holder) throw failedPrecondition(`IP address ${ip} of container "${name}" is already in use on ${this.ctx.hostName} by ${holder}`);
    }
  }

  /**
   * As the seed does once the CT runs (vzctl exec 1 "ifconfig eth0 …"): the address, MTU and route
   * inside, and the host side's MTU (OpenVZ's NETIF has no MTU field).
   */
  private async configureAddress(name: string, ctid: number): Promise<void> {
    const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
    if (!ipv4) return;
    const nic = requireNetwork(this.ctx).nic(ipv4);
    await ip("link", "set", hostIfname(ctid), "mtu", String(nic.mtu)).catch((err: unknown) =>
      this.ctx.log.warn({ ctid, err: messageOf(err) }, "cannot set the MTU of the CT's host-side veth"),
    );
    const script = `ip link set eth0 mtu ${nic.mtu} up && ip addr replace ${nic.address} dev eth0 && ip route replace default via ${nic.gateway}`;
    this.check(await this.tools.vzctl(["exec", String(ctid), script]), `configure the address of ${ctRef(name, ctid)}`);
  }

  // ---- helpers ----

  /** The CT's action scripts present in the conf directory (101.start, 101.mount, ...). */
  private actionScripts(ctid: number, paths: VzPaths): string[] {
    return ACTION_SCRIPTS.map((a) => `${ctid}.${a}`).filter((f) => existsSync(join(paths.confDir, f)));
  }

  /**
   * The CT's second-level quotas from its quota file (vzdqdump CTID -U -G -T), as vzmigrate dumps
   * them; undefined when the host keeps no disk quota, the CT has none (QUOTAUGIDLIMIT 0) or its
   * quota was never initialised (no quota file).
   */
  private async ugidQuotas(ctid: number, conf: Map<string, string>, paths: VzPaths): Promise<UgidQuotaDump | undefined> {
    if (!paths.diskQuota || !(Number(conf.get("QUOTAUGIDLIMIT") ?? 0) > 0)) return undefined;
    const r = await this.tools.vzdqdump([String(ctid), ...VZDQ_ALL]);
    if (r.code === VZDQ_EXIT.noQuotaFile) return undefined;
    if (r.code !== 0) {
      throw new CorralError("internal", `could not dump the per-UID/GID quotas of CT ${ctid} on ${this.ctx.hostName}: ${lastLine(r)} (vzdqdump exit ${r.code})`);
    }
    const dump = parseVzdqdump(r.stdout);
    return dump.on ? dump : undefined;
  }

  private async ctid(name: string): Promise<number> {
    return this.mapped(name, await this.map.get(name));
  }

  private mapped(name: string, ctid: number | undefined): number {
    if (ctid === undefined) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`);
    return ctid;
  }

  private async runningRows(): Promise<Map<number, VeinfoRow>> {
    const rows = await this.proc.running();
    if (!rows) throw new CorralError("unavailable", `${this.proc.root}/vz/veinfo is missing on ${this.ctx.hostName}: not an OpenVZ kernel`);
    return rows;
  }

  private async runningRow(ctid: number): Promise<VeinfoRow | undefined> {
    return (await this.runningRows()).get(ctid);
  }

  private async umountIfMounted(ctid: number): Promise<void> {
    const st = await this.tools.vzctl(["status", String(ctid)]);
    if (st.code === 0 && / mounted /.test(` ${st.stdout.trim()} `) && !(await this.runningRow(ctid))) {
      const r = await this.tools.vzctl(["umount", String(ctid)]);
      if (r.code !== VZ_EXIT.notMounted) this.check(r, `unmount CT ${ctid}`);
    }
  }

  /** A CTID nobody uses here: not mapped, no config (live or destroyed-but-kept), no private area. */
  private async ctidFree(ctid: number, paths: VzPaths): Promise<boolean> {
    return (
      ctid > 100 &&
      !this.map.usesCtid(ctid) &&
      !existsSync(confOf(paths, ctid)) &&
      !existsSync(`${confOf(paths, ctid)}.destroyed`) &&
      !existsSync(privateOf(paths, ctid))
    );
  }

  private async freeCtid(paths: VzPaths): Promise<number> {
    for (let ctid = this.ctidBase; ctid < 2147483644; ctid++) if (await this.ctidFree(ctid, paths)) return ctid;
    throw new CorralError("resource_exhausted", "no free CTID left");
  }

  /** State from /proc/vz/veinfo, limits from CTID.conf, init from fairsched's cgroup.procs. */
  private async status(name: string, ctid: number, paths?: VzPaths, running?: Map<number, VeinfoRow>): Promise<ContainerStatus> {
    const p = paths ?? (await this.paths());
    const conf = parseConfig(await readFile(confOf(p, ctid), "utf8").catch(() => ""));
    const row = (running ?? (await this.runningRows())).get(ctid);
    const initPid = row ? ((await this.proc.procs(ctid))[0] ?? 0) : 0;
    return { name, backend: "openvz", state: row ? "running" : "stopped", initPid, limits: limitsFromConfig(conf) };
  }

  private check(r: VzCommand, what: string): void {
    if (r.code === 0) return;
    throw new CorralError("internal", `could not ${what} on ${this.ctx.hostName}: ${lastLine(r)} (${vzExit(r.code)})`);
  }
}

/** The host side of CT N's eth0, as vzctl names it by default (veth1.0 for CT 1). */
const hostIfname = (ctid: number): string => `veth${ctid}.0`;

/** --netif_del all, then (with a nic) the one veth on the Corral bridge with the address's MAC. */
function netifArgs(ctid: number, nic: Nic | undefined): string[] {
  if (!nic) return [];
  return ["--netif_del", "all", "--netif_add", `eth0,${nic.mac},${hostIfname(ctid)},,${nic.bridge}`];
}
