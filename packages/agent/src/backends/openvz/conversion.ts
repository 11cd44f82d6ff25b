// What of an OpenVZ 6 container carries over to LXC or LXD, read from its CTID.conf: the first step
// of `ct migrate --backend lxc|lxd` (issue 12), and what its --dry-run would list. Memory, CPUs,
// hostname and network become the target's settings; the OpenVZ-only settings (beancounters other
// than RAM/swap, vzquota, I/O priority, CPU units/mask) are named with the reason they cannot move.
import type { Limits } from "@corral/wire";
import { limitsFromConfig, pagesOf, parseConfig, PAGE_SIZE, type CtConfig } from "./config.js";
import { isHostActionScript } from "./config-policy.js";
import { describeUgidQuota, type UgidQuota } from "./vzdq-dump.js";

export type ConversionTarget = "lxc" | "lxd";

export interface CarriedSetting {
  /** The CTID.conf key. */
  key: string;
  /** What it becomes on the target: an LXC config line or an LXD config key=value. */
  becomes: string;
}

export interface DroppedSetting {
  key: string;
  why: string;
}

export interface ConversionPlan {
  target: ConversionTarget;
  carried: CarriedSetting[];
  dropped: DroppedSetting[];
}

// Keys that say where or what the CT is on its OpenVZ host; they have no meaning elsewhere and are
// neither carried nor "lost".
const HOST_LOCAL = new Set(["VE_ROOT", "VE_PRIVATE", "VE_LAYOUT", "OSTEMPLATE", "ORIGIN_SAMPLE", "NAME", "DESCRIPTION"]);

const DROPPED_WHY: Record<string, string> = {
  DISKSPACE: "vzquota disk limit: LXC and LXD directory storage have no per-container quota",
  DISKINODES: "vzquota inode limit: no equivalent on directory storage",
  QUOTATIME: "vzquota grace time: no equivalent",
  QUOTAUGIDLIMIT: "per-UID/GID quotas inside the CT (vzquota): no equivalent",
  CPUUNITS: "fair-share weight in OpenVZ units: not comparable to cgroup cpu.shares without the host's total",
  CPUMASK: "CPU affinity is the source host's CPU numbering",
  NODEMASK: "NUMA nodes are the source host's",
  IOPRIO: "OpenVZ I/O priority: no equivalent",
  IOLIMIT: "OpenVZ I/O bandwidth limit: no equivalent set by Corral",
  IOPSLIMIT: "OpenVZ IOPS limit: no equivalent set by Corral",
  NETFILTER: "OpenVZ netfilter mode: the target's firewall is its own",
  VM_OVERCOMMIT: "OpenVZ VSwap overcommit: no equivalent",
  ONBOOT: "start on boot is the runtime's own setting on the target",
  NAMESERVER: "resolvers are set inside the container's files, not by the runtime",
  SEARCHDOMAIN: "search domains are set inside the container's files, not by the runtime",
  STOP_TIMEOUT: "Corral's own --stop-timeout applies",
};

const UBC_WHY = "OpenVZ beancounter: no cgroup equivalent";

/**
 * The limits a converted CT takes with it: memory and CPUs, as the plan says (SWAPPAGES apart). Its
 * DISKSPACE, NUMPROC and CPUUNITS are listed as left behind, so they are not applied either: an
 * LXD dir pool refuses a disk size, and the units do not compare.
 */
export function carriedLimits(conf: CtConfig): Limits {
  const { memoryBytes, cpus } = limitsFromConfig(conf);
  return { memoryBytes, cpus };
}

/** SWAPPAGES' limit in bytes: the swap a VSwap CT may use beyond its RAM; undefined for unlimited. */
export function swapBytesOf(conf: CtConfig): number | undefined {
  return bytesOfPair(conf.get("SWAPPAGES"));
}

function bytesOfPair(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const pages = pagesOf(v.includes(":") ? v.slice(v.indexOf(":") + 1) : v);
  return pages === undefined ? undefined : pages * PAGE_SIZE;
}

/** The target's words for memory, swap, CPUs, hostname and each veth interface. */
function carry(conf: CtConfig, target: ConversionTarget): { carried: CarriedSetting[]; handled: Set<string> } {
  const carried: CarriedSetting[] = [];
  const handled = new Set<string>();
  const limits = limitsFromConfig(conf);
  const lxc = target === "lxc";
  if (conf.has("PHYSPAGES")) {
    handled.add("PHYSPAGES");
    if (limits.memoryBytes > 0) {
      carried.push({ key: "PHYSPAGES", becomes: lxc ? `lxc.cgroup.memory.limit_in_bytes = ${limits.memoryBytes}` : `limits.memory=${limits.memoryBytes}B` });
    }
  }
  if (conf.has("SWAPPAGES")) {
    handled.add("SWAPPAGES");
    const swap = bytesOfPair(conf.get("SWAPPAGES"));
    if (limits.memoryBytes > 0 && swap !== undefined) {
      carried.push({
        key: "SWAPPAGES",
        becomes: lxc ? `lxc.cgroup.memory.memsw.limit_in_bytes = ${limits.memoryBytes + swap}` : `limits.memory.swap=${swap > 0 ? "true" : "false"}`,
      });
    }
  }
  for (const k of ["CPUS", "CPULIMIT"]) if (conf.has(k)) handled.add(k);
  if (limits.cpus > 0) {
    const key = Number(conf.get("CPULIMIT") ?? 0) > 0 ? "CPULIMIT" : "CPUS";
    carried.push({
      key,
      becomes: lxc
        ? `lxc.cgroup.cpu.cfs_quota_us = ${Math.round(limits.cpus * 100000)} (period 100000)`
        : Number.isInteger(limits.cpus)
          ? `limits.cpu=${limits.cpus}`
          : `limits.cpu.allowance=${Math.round(limits.cpus * 100)}ms/100ms`,
    });
  }
  const hostname = conf.get("HOSTNAME");
  if (hostname) {
    handled.add("HOSTNAME");
    carried.push({ key: "HOSTNAME", becomes: lxc ? `lxc.uts.name = ${hostname}` : `raw.lxc lxc.uts.name = ${hostname} (LXD names the UTS after the instance otherwise) and the rootfs's /etc/hostname` });
  }
  const netif = conf.get("NETIF");
  if (netif) {
    handled.add("NETIF");
    netif.split(";").filter(Boolean).forEach((entry, i) => {
      const kv = new Map(entry.split(",").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as const));
      const name = kv.get("ifname") ?? `eth${i}`;
      const mac = kv.get("mac");
      carried.push({
        key: "NETIF",
        becomes: lxc
          ? `lxc.net.${i}.type = veth, lxc.net.${i}.name = ${name}${mac ? `, lxc.net.${i}.hwaddr = ${mac}` : ""} (on the target's container network)`
          : `devices.${name}: nic name=${name}${mac ? ` hwaddr=${mac}` : ""} (on the target's container network)`,
      });
    });
  }
  const ips = conf.get("IP_ADDRESS");
  if (ips) {
    handled.add("IP_ADDRESS");
    carried.push({ key: "IP_ADDRESS", becomes: `venet addresses ${ips}: the container keeps the address Corral allocated it; venet itself does not exist outside OpenVZ` });
  }
  return { carried, handled };
}

/** What of the CT lives beside its CTID.conf on the source host and stays there on a conversion. */
export interface BesideConfig {
  /** Its action scripts present in the conf directory, as file names (101.mount). */
  actionScripts?: string[];
  /** Its per-UID/GID quotas (vzdqdump), when its second-level quota is on. */
  ugidQuotas?: UgidQuota[];
}

/** Where the dropped list names what the action scripts and per-UID/GID quotas were. */
function besideDropped(b: BesideConfig): DroppedSetting[] {
  const out: DroppedSetting[] = [];
  for (const f of b.actionScripts ?? []) {
    const action = f.slice(f.indexOf(".") + 1);
    out.push({
      key: f,
      why: isHostActionScript(action)
        ? `OpenVZ action script run by vzctl as root on the host at ${action}: LXC and LXD have hooks of their own; review it and port it by hand`
        : `OpenVZ action script run by vzctl inside the CT at ${action}: move it into the container's own init by hand`,
    });
  }
  for (const q of b.ugidQuotas ?? []) {
    out.push({ key: `vzquota ${q.type} ${q.id}`, why: `per-UID/GID quota (${describeUgidQuota(q)}): LXC and LXD directory storage have no per-user quota` });
  }
  return out;
}

/** What moves and what does not when this CTID.conf (and what lives beside it) becomes an LXC or LXD container. */
export function planConversion(confText: string, target: ConversionTarget, beside: BesideConfig = {}): ConversionPlan {
  const conf = parseConfig(confText);
  const { carried, handled } = carry(conf, target);
  const dropped: DroppedSetting[] = [];
  for (const [key, value] of conf) {
    if (handled.has(key) || HOST_LOCAL.has(key) || value === "") continue;
    dropped.push({ key, why: DROPPED_WHY[key] ?? (/^[A-Z]+$/.test(key) && key.length > 4 ? UBC_WHY : "OpenVZ-only setting") });
  }
  dropped.push(...besideDropped(beside));
  return { target, carried, dropped };
}
