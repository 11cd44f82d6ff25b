// Maps Corral's names, specs and limits to LXD instance names and config keys, and back.
import { type ContainerSpec, type ContainerStatus, type Limits, invalidArgument, mergeLimits, parseSize } from "@corral/wire";
import { totalmem } from "node:os";
import type { Nic } from "../../network/nic.js";

/** Keys that mark an instance as Corral's, and whose host owns it (hosts may share one daemon). */
export const KEY_HOST = "user.corral.host";
export const KEY_NAME = "user.corral.name";
export const KEY_SPEC = "user.corral.spec";

/** The part of LXD's instance object this backend reads (GET /1.0/instances?recursion=2). */
export interface LxdInstance {
  name: string;
  status: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  /** With the profile's devices (the root disk); absent in some listings. */
  expanded_devices?: Record<string, Record<string, string>>;
  state?: LxdState | null;
}

export interface LxdState {
  status: string;
  pid: number;
  processes: number;
  memory: { usage: number; usage_peak: number };
  cpu: { usage: number };
  network: Record<string, { type: string; counters: { bytes_received: number; bytes_sent: number } }> | null;
}

/** `<host>-<name>`: LXD names allow letters, digits and '-', at most 63 characters. */
export function runtimeName(hostName: string, name: string): string {
  const full = `${hostName}-${name}`;
  if (full.length > 63) {
    throw invalidArgument(`container name "${name}" is too long for LXD on host ${hostName}: "${full}" exceeds 63 characters`);
  }
  return full;
}

/** The instance config keys Corral's limits live in (migration archives may carry them). */
export const LIMIT_CONFIG_KEYS: readonly string[] = ["limits.memory", "limits.cpu", "limits.cpu.allowance", "limits.processes"];

/**
 * Corral limits as LXD config keys; an empty value unsets a key (no limit). CPU shares become a
 * percentage limits.cpu.allowance: LXD turns "P%" into cpu.shares of P% of 1024, a real weight,
 * whereas limits.cpu.priority moves shares by at most 10 of 1024. The same key holds a fractional
 * --cpus as a time quota ("50ms/100ms"), so the two together are refused. Swap: LXD 5.0's
 * limits.memory.swap only turns swap on or off, so an amount is refused too. The disk quota is the
 * root disk device's size (rootDiskDevice).
 */
export function limitsToConfig(limits: Limits): Record<string, string> {
  // validateBackendLimits has refused a swap amount and shares beside a fractional --cpus.
  const shares = limits.cpuShares ?? 0;
  const cfg: Record<string, string> = {
    "limits.memory": limits.memoryBytes > 0 ? String(limits.memoryBytes) : "",
    "limits.cpu": "",
    "limits.cpu.allowance": shares > 0 ? `${Math.max(1, Math.round((shares * 100) / 1024))}%` : "",
    "limits.processes": limits.pidsMax ? String(limits.pidsMax) : "",
  };
  if (limits.cpus > 0) {
    // limits.cpu pins whole CPUs; a fraction needs a CFS quota on top.
    cfg["limits.cpu"] = String(Math.ceil(limits.cpus));
    if (!Number.isInteger(limits.cpus)) cfg["limits.cpu.allowance"] = `${Math.round(limits.cpus * 100)}ms/100ms`;
  }
  return cfg;
}

/** The instance's own root disk device with a quota: the profile's root (path /, its pool) and `size`. */
export function rootDiskDevice(pool: string, diskBytes: number): Record<string, string> {
  return { type: "disk", path: "/", pool, ...(diskBytes > 0 ? { size: String(diskBytes) } : {}) };
}

/** Drops the empty values PATCH uses to unset keys; create needs none of them. */
export function withoutEmpty(cfg: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== ""));
}

export function limitsFromConfig(cfg: Record<string, string>, devices: Record<string, Record<string, string>> = {}): Limits {
  const pct = /^(\d+)%$/.exec(cfg["limits.cpu.allowance"] ?? "");
  const pids = Number(cfg["limits.processes"] ?? 0);
  const size = devices.root?.path === "/" ? devices.root.size : undefined;
  return mergeLimits(
    { memoryBytes: memoryLimit(cfg["limits.memory"]), cpus: cpuLimit(cfg) },
    {
      cpuShares: pct ? Math.round((Number(pct[1]) * 1024) / 100) : 0,
      pidsMax: Number.isSafeInteger(pids) && pids > 0 ? pids : 0,
      diskBytes: size ? memoryLimit(size) : 0,
    },
  );
}

function memoryLimit(text: string | undefined): number {
  if (!text) return 0;
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) return Math.round((totalmem() * Number(pct[1])) / 100);
  try {
    return parseSize("memory limit", text);
  } catch {
    return 0;
  }
}

function cpuLimit(cfg: Record<string, string>): number {
  const allowance = /^(\d+)ms\/(\d+)ms$/.exec(cfg["limits.cpu.allowance"] ?? "");
  if (allowance) return Number(allowance[1]) / Number(allowance[2]);
  const cpu = cfg["limits.cpu"] ?? "";
  if (/^\d+$/.test(cpu)) return Number(cpu);
  // A CPU set such as "0-1,3": count the CPUs it pins.
  let n = 0;
  for (const part of cpu.split(",").filter(Boolean)) {
    const [a, b] = part.split("-").map(Number);
    n += b === undefined ? 1 : (b ?? 0) - (a ?? 0) + 1;
  }
  return n;
}

/** Config for a new instance: limits, environment, and the spec kept under user.corral.* keys. */
export function specToConfig(hostName: string, spec: ContainerSpec, nic?: Nic): Record<string, string> {
  const cfg: Record<string, string> = {
    ...withoutEmpty(limitsToConfig(spec.limits)),
    [KEY_HOST]: hostName,
    [KEY_NAME]: spec.name,
    [KEY_SPEC]: JSON.stringify({ image: spec.image, template: spec.template, labels: spec.labels, ports: spec.ports }),
  };
  for (const kv of spec.env) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw invalidArgument(`invalid environment entry "${kv}": expected KEY=VALUE`);
    cfg[`environment.${kv.slice(0, eq)}`] = kv.slice(eq + 1);
  }
  // LXD's own default is unprivileged; privileged only when asked for.
  if (spec.privileged) cfg["security.privileged"] = "true";
  if (spec.nesting) Object.assign(cfg, NESTING_CONFIG);
  const raw = rawLxc(!!spec.nesting, nic);
  if (raw) cfg["raw.lxc"] = raw;
  return cfg;
}

/**
 * The seed's `-p docker` profile as proven on this kernel (shared/recipes, nesting/): nesting, the
 * overlay module (modules are built in here, so only overlay may be listed) and the cgroup
 * hierarchies mounted separately (`:force`), without which docker inside cannot set CPU limits.
 */
export const NESTING_CONFIG: Readonly<Record<string, string>> = {
  "security.nesting": "true",
  "linux.kernel_modules": "overlay",
};
/** Nesting's line of raw.lxc (the cgroup mount above); it shares the key with the NIC's address. */
export const NESTING_RAW_LXC = "lxc.mount.auto = cgroup:mixed:force\n";

/**
 * The instance's raw.lxc: nesting's cgroup mount, a converted container's own hostname, then the
 * NIC's address. LXD keeps them in one key, so they are written together; writing one alone would
 * drop the others (a nested dockerd then cannot set CPU limits, or the container loses its address).
 */
export function rawLxc(nesting: boolean, nic?: Nic, hostname?: string): string | undefined {
  const text = (nesting ? NESTING_RAW_LXC : "") + (hostname ? utsRawLxc(hostname) : "") + (nic ? nicRawLxc(nic) : "");
  return text || undefined;
}

/**
 * LXD names a container's UTS after the instance (lxc.uts.name = instance name, then raw.lxc, which
 * liblxc reads last). A container converted from OpenVZ or LXC keeps its own hostname that way, as
 * `raw.lxc: lxc.uts.name=...` does by hand; the name is one a hostname may be.
 */
const UTS_LINE = /^lxc\.uts\.name = ([A-Za-z0-9][A-Za-z0-9.-]{0,62})\n/;
export const utsRawLxc = (hostname: string): string => {
  const line = `lxc.uts.name = ${hostname}\n`;
  if (!UTS_LINE.test(line)) throw invalidArgument(`"${hostname}" is not a hostname`);
  return line;
};

/** raw.lxc after nesting's line, if it has one. */
const afterNesting = (text: string): string => (hasNestingRawLxc(text) ? text.slice(NESTING_RAW_LXC.trimEnd().length).replace(/^\n/, "") : text);

/** The hostname line a (converted) instance's raw.lxc holds, if any. */
export const utsOfRawLxc = (text: string | undefined): string | undefined => (text ? UTS_LINE.exec(afterNesting(text))?.[1] : undefined);

/** Whether a raw.lxc (of a restored instance) holds nesting's line. */
export const hasNestingRawLxc = (text: string | undefined): boolean => !!text && text.startsWith(NESTING_RAW_LXC.trimEnd());

/** True for exactly what rawLxc writes; nesting's line only when `nesting` is granted. */
export function isCorralRawLxc(text: string, nesting: boolean): boolean {
  if (hasNestingRawLxc(text) && !nesting) return false;
  let rest = afterNesting(text);
  const uts = UTS_LINE.exec(rest);
  if (uts) rest = rest.slice(uts[0].length);
  return rest === "" ? text !== "" : isNicRawLxc(rest);
}

/**
 * The container's NIC: bridged to `parent` (the Corral bridge, or the bridge reaching it when LXD
 * lives in another network namespace), with the MAC derived from its address.
 */
export function nicDevices(nic: Nic, parent: string): Record<string, Record<string, string>> {
  return { eth0: { type: "nic", nictype: "bridged", parent, name: "eth0", mtu: String(nic.mtu), hwaddr: nic.mac } };
}

/**
 * LXD sets ipv4.address only on its own managed bridges; on an unmanaged parent the address goes in
 * through raw.lxc, whose interface-specific ipv4 keys LXD allows (the only raw.lxc Corral writes).
 */
export function nicRawLxc(nic: Nic): string {
  return `lxc.net.0.ipv4.address = ${nic.address}\nlxc.net.0.ipv4.gateway = ${nic.gateway}\n`;
}

/** True for exactly what nicRawLxc writes. */
export function isNicRawLxc(text: string): boolean {
  return /^lxc\.net\.0\.ipv4\.address = [\d.]{7,15}\/\d{1,2}\nlxc\.net\.0\.ipv4\.gateway = [\d.]{7,15}\n?$/.test(text);
}

export function runtimeState(status: string): ContainerStatus["state"] {
  if (status === "Running") return "running";
  if (status === "Stopped") return "stopped";
  return "unknown";
}

export function toStatus(name: string, inst: LxdInstance): ContainerStatus {
  return {
    name,
    backend: "lxd",
    state: runtimeState(inst.state?.status ?? inst.status),
    initPid: inst.state?.pid ?? 0,
    limits: limitsFromConfig(inst.config, inst.devices),
  };
}
