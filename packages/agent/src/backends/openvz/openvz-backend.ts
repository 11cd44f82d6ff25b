// OpenVZ through vzctl/vzlist, over the private area /var/lib/vz/private/CTID and the config
// /etc/vz/conf/CTID.conf (relocated under `vzRoot`). Migration is the seed's manual sequence: stop,
// tar the private area with numeric owners plus CTID.conf, copy, extract, start.
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import {
  alreadyExists,
  CorralError,
  failedPrecondition,
  invalidArgument,
  notFound,
  messageOf,
  type ContainerSpec,
  type ContainerStatus,
  type ContainerUsage,
  type ExecOutput,
  type Limits,
  type RuntimeState,
} from "@corral/wire";
import { assertArchiveFormat, requireNetwork, type ArchiveOut, type Backend, type BackendContext, type ExecIo, type LiveLimits, type ProbeResult } from "../backend.js";
import { createTarStream, treeSize } from "../../archive/tar-stream.js";
import { extractTarSafely } from "../../archive/safe-extract.js";
import { execTool } from "../../process/exec-io.js";
import { CtidMap } from "./ctid-map.js";
import { limitArgs, limitsFromConfig, parseConfig, rewriteConfigForHost, substVeid } from "./config.js";
import { lastLine, shellQuote, VZ_EXIT, VzTools, type VzCommand } from "./tools.js";
import { CpuPercent } from "../../usage/cgroup.js";
import { usageFromCgroup } from "../../usage/container-usage.js";
import { readSample, runState } from "./usage.js";
import { OPENVZ_TAR_POLICY, checkStagedOpenvz } from "./config-policy.js";
import { ip } from "../../network/net-tools.js";
import type { Nic } from "../../network/nic.js";

export const OPENVZ_ARCHIVE_FORMAT = "openvz-private-tar/1";

export interface OpenvzBackendOptions {
  /** vzctl binary (default "vzctl" on PATH; the stand-in is deploy/openvz-standin/vzctl). */
  vzctl?: string;
  /** vzlist binary (default "vzlist"). */
  vzlist?: string;
  /** Root of the host's OpenVZ files (default "/"); the stand-in relocates by VZ_ROOT. */
  vzRoot?: string;
  /** Lowest CTID this backend allocates (default 101: OpenVZ reserves 0–100). */
  ctidBase?: number;
  /** cgroup parent of this host's containers (default `vz/<hostName>`), passed as VZ_CGROUP_PREFIX. */
  cgroupPrefix?: string;
  /** cgroup v1 mount root (default /sys/fs/cgroup). */
  cgroupRoot?: string;
}

const ctRef = (name: string, ctid: number) => `container "${name}" (CT ${ctid})`;

export class OpenvzBackend implements Backend, LiveLimits {
  readonly name = "openvz" as const;
  readonly archiveFormat = OPENVZ_ARCHIVE_FORMAT;
  private readonly tools: VzTools;
  private readonly map: CtidMap;
  private readonly vzRoot: string;
  private readonly ctidBase: number;
  private readonly cgPrefix: string;
  private readonly cgRoot: string;
  private readonly cpu = new CpuPercent();

  constructor(
    private readonly ctx: BackendContext,
    opts: OpenvzBackendOptions = {},
  ) {
    this.vzRoot = (opts.vzRoot ?? "/").replace(/\/+$/, "") || "/";
    this.ctidBase = opts.ctidBase ?? 101;
    // Emulated hosts (a VZ root of their own) of two clusters on one machine share host names and
    // CTIDs: the root's hash keeps their cgroups apart (CT 101 of another cluster's host1 is not ours).
    this.cgPrefix = opts.cgroupPrefix ?? (this.vzRoot === "/" ? `vz/${ctx.hostName}` : `vz/${ctx.hostName}-${createHash("sha256").update(this.vzRoot).digest("hex").slice(0, 8)}`);
    this.cgRoot = opts.cgroupRoot ?? "/sys/fs/cgroup";
    this.tools = new VzTools({
      vzctl: opts.vzctl ?? "vzctl",
      vzlist: opts.vzlist ?? "vzlist",
      env: { VZ_ROOT: this.vzRoot, VZ_CGROUP_PREFIX: this.cgPrefix },
    });
    this.map = new CtidMap(join(ctx.stateDir, "openvz", "ctids.json"));
  }

  // ---- paths ----
  private path(...parts: string[]): string {
    return join(this.vzRoot, ...parts);
  }
  private confPath(ctid: number): string {
    return this.path("etc/vz/conf", `${ctid}.conf`);
  }
  private defaultPrivate(): string {
    return `${this.path("var/lib/vz/private")}/$VEID`;
  }
  private defaultRoot(): string {
    return `${this.path("var/lib/vz/root")}/$VEID`;
  }
  private cgPath(ctid: number): string {
    return `${this.cgPrefix}/${ctid}`;
  }

  stagingRoot(): string {
    // Beside the private areas, so commitRestore's rename stays on one filesystem.
    return this.path("var/lib/vz/corral-staging");
  }

  async probe(): Promise<ProbeResult> {
    let version: VzCommand;
    try {
      version = await this.tools.vzctl(["--version"]);
    } catch (err) {
      return { available: false, reason: `vzctl not found (${this.tools.opts.vzctl})` };
    }
    const line = `${version.stdout}${version.stderr}`.trim().split("\n")[0] ?? "";
    if (version.code !== 0) return { available: false, reason: `vzctl --version failed: ${line}` };
    try {
      await this.tools.vzlist(["--help"]);
    } catch {
      return { available: false, reason: `vzlist not found (${this.tools.opts.vzlist})` };
    }
    if (/STAND-IN/.test(line)) {
      if (!existsSync(join(this.cgRoot, "pids")) || !existsSync(join(this.cgRoot, "memory"))) {
        return { available: false, reason: `vzctl stand-in needs cgroup v1 hierarchies under ${this.cgRoot}` };
      }
      return { available: true, reason: `stand-in, not OpenVZ: ${line}` };
    }
    if (!existsSync("/proc/vz")) {
      return { available: false, reason: `${line} found, but /proc/vz is missing: this is not an OpenVZ kernel` };
    }
    return { available: true, reason: line };
  }

  // ---- lifecycle ----

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    if (!spec.template) throw invalidArgument("openvz containers need --template (an OS template in the template cache)");
    if (spec.image) throw invalidArgument("openvz containers are made from an OS template, not an --image");
    if (spec.cmd.length) throw invalidArgument("openvz containers run their template's /sbin/init; --cmd is not supported");
    const tmpl = this.path("var/lib/vz/template/cache", `${spec.template}.tar.gz`);
    if (!/^[A-Za-z0-9._-]+$/.test(spec.template) || !existsSync(tmpl)) {
      throw invalidArgument(`OS template "${spec.template}" not found in ${this.path("var/lib/vz/template/cache")}`);
    }
    const limArgs = limitArgs(spec.limits);
    return this.map.locked(async () => {
      if (this.map.has(spec.name)) throw alreadyExists(`container "${spec.name}" already exists`);
      const ctid = await this.freeCtid();
      await this.map.set(spec.name, ctid);
      try {
        const created = await this.tools.vzctl([
          "create", String(ctid), "--ostemplate", spec.template, "--layout", "simfs",
          "--name", spec.name, "--hostname", spec.name,
        ]);
        if (created.code === VZ_EXIT.templateMissing) {
          throw invalidArgument(`OS template "${spec.template}" not found: ${lastLine(created)}`);
        }
        this.check(created, `create ${ctRef(spec.name, ctid)}`);
        // The seed's veth on a bridge (vzctl set --netif_add eth0,,vethN.0,,br0), on this host's Corral bridge.
        const nic = spec.ipv4 ? requireNetwork(this.ctx).nic(spec.ipv4) : undefined;
        const set = await this.tools.vzctl(["set", String(ctid), ...limArgs, ...netifArgs(ctid, nic), "--save"]);
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
    const sample = await runState(this.cgRoot, this.cgPath(ctid));
    if (!sample.running) return this.status(name, ctid);
    // vzctl stop runs halt inside the CT; past the caller's timeout it is killed (its lock goes
    // stale with it) and `vzctl stop --fast` kills the CT's init.
    const clean = await this.tools.vzctl(["stop", String(ctid)], { timeoutMs: Math.max(timeoutSeconds, 0) * 1000 + 1 });
    if (clean.code !== 0) {
      const fast = await this.tools.vzctl(["stop", String(ctid), "--fast"]);
      this.check(fast, `stop ${ctRef(name, ctid)}`);
    }
    return this.status(name, ctid);
  }

  async remove(name: string): Promise<void> {
    await this.map.locked(async () => {
      const ctid = this.mapped(name, await this.map.get(name));
      const sample = await runState(this.cgRoot, this.cgPath(ctid));
      if (sample.running) this.check(await this.tools.vzctl(["stop", String(ctid), "--fast"]), `stop ${ctRef(name, ctid)}`);
      const r = await this.tools.vzctl(["destroy", String(ctid)]);
      // A private area already gone (removed by hand) is not a reason to keep the mapping.
      if (r.code !== 0 && existsSync(this.confPath(ctid))) this.check(r, `destroy ${ctRef(name, ctid)}`);
      await this.map.delete(name);
      this.cpu.forget(String(ctid));
    });
  }

  async inspect(name: string): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    const rows = await this.vzlist([String(ctid)]);
    const row = rows.get(ctid);
    if (!row) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`);
    const sample = await runState(this.cgRoot, this.cgPath(ctid));
    return { name, backend: "openvz", state: row.state, initPid: row.state === "running" ? sample.initPid : 0, limits: row.limits };
  }

  async list(): Promise<ContainerStatus[]> {
    const entries = await this.map.entries();
    if (!entries.length) return [];
    const rows = await this.vzlist([]);
    const out: ContainerStatus[] = [];
    for (const [name, ctid] of entries) {
      const row = rows.get(ctid);
      if (!row) continue;
      const initPid = row.state === "running" ? (await runState(this.cgRoot, this.cgPath(ctid))).initPid : 0;
      out.push({ name, backend: "openvz", state: row.state, initPid, limits: row.limits });
    }
    return out;
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    const ctid = await this.ctid(name);
    const r = await this.tools.vzctl(["set", String(ctid), ...limitArgs(limits), "--save"]);
    this.check(r, `set limits on ${ctRef(name, ctid)}`);
    return this.status(name, ctid);
  }

  async *exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput> {
    if (!argv.length) throw invalidArgument("exec needs a command");
    const ctid = await this.ctid(name);
    if (!(await runState(this.cgRoot, this.cgPath(ctid))).running) {
      throw failedPrecondition(`container "${name}" is not running on ${this.ctx.hostName}`);
    }
    for (const e of env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw invalidArgument(`bad environment entry "${e}": use NAME=value`);
    // vzctl joins its arguments and runs them with a shell, so argv is quoted word by word;
    // exec2 (unlike exec, which says 8) exits with the command's own status.
    const words = [...(env.length ? ["env", ...env] : []), ...argv].map(shellQuote);
    // A login shell on a terminal is what `vzctl enter` is for; anything else is exec2.
    const args = io?.login && io.tty ? ["enter", String(ctid)] : ["exec2", String(ctid), `exec ${words.join(" ")}`];
    yield* execTool(this.tools.vzctlCommand(args), io, signal, `exec in container "${name}" failed`);
  }

  async usage(): Promise<ContainerUsage[]> {
    const entries = this.map.snapshot();
    return Promise.all(
      entries.map(async ([name, ctid]) => {
        // The stand-in gives each CT its own empty network namespace (no venet/veth): no traffic to count.
        return usageFromCgroup(name, "openvz", await readSample(this.cgRoot, this.cgPath(ctid)), this.cpu, String(ctid));
      }),
    );
  }

  // ---- migration ----

  async archive(name: string): Promise<ArchiveOut> {
    const ctid = await this.ctid(name);
    if ((await runState(this.cgRoot, this.cgPath(ctid))).running) {
      throw failedPrecondition(`container "${name}" is running; stop it before archiving`);
    }
    const conf = parseConfig(await readFile(this.confPath(ctid), "utf8"));
    const priv = substVeid(conf.get("VE_PRIVATE") ?? this.defaultPrivate(), ctid);
    const rel = relative(this.vzRoot, priv);
    if (rel.startsWith("..") || rel === "") {
      throw failedPrecondition(`private area ${priv} of ${ctRef(name, ctid)} is outside ${this.vzRoot}`);
    }
    const estimatedBytes = await treeSize(priv);
    // One tar, rooted at the host's root: the private area (numeric owners) and its CTID.conf, the
    // two things the seed copies by hand.
    const { stream, finished } = createTarStream(this.vzRoot, [rel, relative(this.vzRoot, this.confPath(ctid))]);
    return { format: OPENVZ_ARCHIVE_FORMAT, estimatedBytes, stream, finished };
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string): Promise<void> {
    assertArchiveFormat(this, format);
    await extractTarSafely(input, stagingDir, OPENVZ_TAR_POLICY);
    await checkStagedOpenvz(stagingDir);
    await this.stagedCt(name, stagingDir);
  }

  async commitRestore(name: string, stagingDir: string): Promise<ContainerStatus> {
    await checkStagedOpenvz(stagingDir);
    const staged = await this.stagedCt(name, stagingDir);
    return this.map.locked(async () => {
      if (this.map.has(name)) throw alreadyExists(`container "${name}" already exists`);
      // Keep the source's CTID when it is free here, as a hand migration would.
      const ctid = (await this.ctidFree(staged.ctid)) ? staged.ctid : await this.freeCtid();
      const confText = rewriteConfigForHost(
        staged.confText,
        { VE_PRIVATE: this.defaultPrivate(), VE_ROOT: this.defaultRoot() },
        ["NAME", "NETIF"],
      );
      const priv = substVeid(this.defaultPrivate(), ctid);
      await mkdir(this.path("var/lib/vz/private"), { recursive: true });
      await mkdir(this.path("etc/vz/conf"), { recursive: true });
      await rename(staged.privateDir, priv);
      try {
        const tmp = `${this.confPath(ctid)}.corral-tmp`;
        await writeFile(tmp, confText);
        await rename(tmp, this.confPath(ctid));
        // This host's bridge, for the address the controller sent with the receive.
        const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
        const nic = ipv4 ? requireNetwork(this.ctx).nic(ipv4) : undefined;
        this.check(await this.tools.vzctl(["set", String(ctid), "--name", name, ...netifArgs(ctid, nic), "--save"]), `name ${ctRef(name, ctid)}`);
        await this.map.set(name, ctid);
      } catch (err) {
        await rm(this.confPath(ctid), { force: true });
        await rename(priv, staged.privateDir).catch(() => undefined);
        throw err;
      }
      return this.status(name, ctid);
    });
  }

  /** The one CT a staging directory holds: etc/vz/conf/N.conf and its private area. */
  private async stagedCt(name: string, stagingDir: string): Promise<{ ctid: number; confText: string; privateDir: string }> {
    const confDir = join(stagingDir, "etc/vz/conf");
    const confs = (await readdir(confDir).catch(() => [] as string[])).filter((f) => /^\d+\.conf$/.test(f));
    if (confs.length !== 1) {
      throw invalidArgument(`archive for container "${name}" must hold exactly one etc/vz/conf/CTID.conf (found ${confs.length})`);
    }
    const ctid = Number(confs[0]!.slice(0, -5));
    const confText = await readFile(join(confDir, confs[0]!), "utf8");
    const privateDir = join(stagingDir, "var/lib/vz/private", String(ctid));
    const st = await stat(privateDir).catch(() => undefined);
    if (!st?.isDirectory()) throw invalidArgument(`archive for container "${name}" has no private area var/lib/vz/private/${ctid}`);
    return { ctid, confText, privateDir };
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

  private async ctid(name: string): Promise<number> {
    return this.mapped(name, await this.map.get(name));
  }

  private mapped(name: string, ctid: number | undefined): number {
    if (ctid === undefined) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`);
    return ctid;
  }

  /** A CTID nobody uses here: not mapped, no config (live or destroyed-but-kept), no private area. */
  private async ctidFree(ctid: number): Promise<boolean> {
    return (
      ctid > 100 &&
      !this.map.usesCtid(ctid) &&
      !existsSync(this.confPath(ctid)) &&
      !existsSync(substVeid(this.defaultPrivate(), ctid))
    );
  }

  private async freeCtid(): Promise<number> {
    for (let ctid = this.ctidBase; ctid < 2147483644; ctid++) if (await this.ctidFree(ctid)) return ctid;
    throw new CorralError("resource_exhausted", "no free CTID left");
  }

  private async status(name: string, ctid: number): Promise<ContainerStatus> {
    const conf = parseConfig(await readFile(this.confPath(ctid), "utf8").catch(() => ""));
    const s = await runState(this.cgRoot, this.cgPath(ctid));
    return {
      name,
      backend: "openvz",
      state: s.running ? "running" : "stopped",
      initPid: s.running ? s.initPid : 0,
      limits: limitsFromConfig(conf),
    };
  }

  /** `vzlist -a -H -t -o ctid,status,physpages.l,cpus,cpulimit [CTID...]`, by CTID. */
  private async vzlist(ctids: string[]): Promise<Map<number, { state: RuntimeState; limits: Limits }>> {
    const r = await this.tools.vzlist(["-a", "-H", "-t", "-o", "ctid,status,physpages.l,cpus,cpulimit", ...ctids]);
    const out = new Map<number, { state: RuntimeState; limits: Limits }>();
    if (r.code !== 0) {
      if (/Container\(s\) not found/.test(r.stderr)) return out;
      throw new CorralError("internal", `vzlist failed on ${this.ctx.hostName}: ${lastLine(r)}`);
    }
    for (const line of r.stdout.split("\n")) {
      const [id, status, physL, cpus, cpulimit] = line.trim().split(/\s+/);
      if (!id || !/^\d+$/.test(id)) continue;
      const conf = new Map<string, string>([
        ["PHYSPAGES", `0:${physL}`],
        ["CPUS", cpus === "-" ? "0" : (cpus ?? "0")],
        ["CPULIMIT", cpulimit ?? "0"],
      ]);
      out.set(Number(id), { state: status === "running" ? "running" : "stopped", limits: limitsFromConfig(conf) });
    }
    return out;
  }

  private check(r: VzCommand, what: string): void {
    if (r.code === 0) return;
    throw new CorralError("internal", `could not ${what} on ${this.ctx.hostName}: ${lastLine(r)} (vzctl exit ${r.code})`);
  }
}

/** The host side of CT N's eth0, as vzctl names it by default (veth1.0 for CT 1). */
const hostIfname = (ctid: number): string => `veth${ctid}.0`;

/** --netif_del all, then (with a nic) the one veth on the Corral bridge with the address's MAC. */
function netifArgs(ctid: number, nic: Nic | undefined): string[] {
  if (!nic) return [];
  return ["--netif_del", "all", "--netif_add", `eth0,${nic.mac},${hostIfname(ctid)},,${nic.bridge}`];
}
