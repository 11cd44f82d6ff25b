// Reading and editing an LXC container's `config` file (key = value lines, keys may repeat).
import { existsSync } from "node:fs";
import { mergeLimits, type Limits } from "@corral/wire";
import type { CgroupVersion } from "../../usage/cgroup.js";
import type { Nic } from "../../network/nic.js";

const CPU_PERIOD_US = 100_000;

export class LxcConfig {
  private lines: string[];

  constructor(text: string) {
    this.lines = text.split("\n");
  }

  toString(): string {
    return this.lines.join("\n").replace(/\n*$/, "\n");
  }

  get(key: string): string | undefined {
    for (const l of this.lines) {
      const m = /^\s*([^#=\s]+)\s*=\s*(.*?)\s*$/.exec(l);
      if (m && m[1] === key) return m[2];
    }
    return undefined;
  }

  /** Removes every line whose key equals `key` or starts with `key.` when `prefix` is set. */
  remove(key: string, prefix = false): this {
    this.lines = this.lines.filter((l) => {
      const k = /^\s*([^#=\s]+)\s*=/.exec(l)?.[1];
      return !(k === key || (prefix && k?.startsWith(`${key}.`)));
    });
    return this;
  }

  set(key: string, value: string): this {
    this.remove(key);
    return this.add(key, value);
  }
  /** Adds `key = value` unless that exact line is there (keys such as lxc.include and lxc.idmap repeat). */
  add(key: string, value: string): this {
    const has = this.lines.some((l) => {
      const m = /^\s*([^#=\s]+)\s*=\s*(.*?)\s*$/.exec(l);
      return m?.[1] === key && m[2] === value;
    });
    if (!has) this.lines.push(`${key} = ${value}`);
    return this;
  }

  /** The limits the config holds, from cgroup v1 (lxc.cgroup.*) or v2 (lxc.cgroup2.*) keys. */
  limits(): Limits {
    const num = (k: string): number => {
      const n = Number(this.get(k) ?? 0);
      return Number.isFinite(n) && n > 0 ? n : 0;
    };
    const memoryBytes = num("lxc.cgroup.memory.limit_in_bytes") || num("lxc.cgroup2.memory.max");
    const quota = num("lxc.cgroup.cpu.cfs_quota_us");
    const period = num("lxc.cgroup.cpu.cfs_period_us") || CPU_PERIOD_US;
    const [q2, p2] = (this.get("lxc.cgroup2.cpu.max") ?? "").split(/\s+/).map(Number);
    const cpuRatio = quota > 0 ? quota / period : q2 && q2 > 0 ? q2 / (p2 || CPU_PERIOD_US) : 0;
    const memsw = num("lxc.cgroup.memory.memsw.limit_in_bytes");
    const weight = num("lxc.cgroup2.cpu.weight");
    return mergeLimits(
      { memoryBytes, cpus: Math.round(cpuRatio * 100) / 100 },
      {
        swapBytes: memsw > memoryBytes ? memsw - memoryBytes : num("lxc.cgroup2.memory.swap.max"),
        cpuShares: num("lxc.cgroup.cpu.shares") || (weight ? sharesFromWeight(weight) : 0),
        pidsMax: num("lxc.cgroup.pids.max") || num("lxc.cgroup2.pids.max"),
      },
    );
  }

  /** Writes the limits as the host's cgroup version's keys; a limit of 0 leaves its key out (unlimited). */
  setLimits(l: Limits, version: CgroupVersion = 1): this {
    this.remove("lxc.cgroup.memory.limit_in_bytes").remove("lxc.cgroup.memory.memsw.limit_in_bytes");
    this.remove("lxc.cgroup.cpu.cfs_quota_us").remove("lxc.cgroup.cpu.cfs_period_us").remove("lxc.cgroup.cpu.shares").remove("lxc.cgroup.pids.max");
    for (const k of ["memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max"]) this.remove(`lxc.cgroup2.${k}`);
    const prefix = version === 2 ? "lxc.cgroup2" : "lxc.cgroup";
    for (const f of cgroupLimitFiles(l, version)) if (f.limited) this.set(`${prefix}.${f.file}`, f.value);
    return this;
  }

  /** Replaces every occurrence of `from` in values (paths in rootfs, mount entries, log file). */
  replaceInValues(from: string, to: string): this {
    this.lines = this.lines.map((l) => {
      const i = l.indexOf("=");
      return i > 0 && !l.trimStart().startsWith("#") ? l.slice(0, i + 1) + l.slice(i + 1).split(from).join(to) : l;
    });
    return this;
  }
}

export const MEMSW = "lxc.cgroup.memory.memsw.limit_in_bytes";

export const cpuQuotaUs = (cpus: number): number => Math.round(cpus * CPU_PERIOD_US);

/** cgroup v2's cpu.weight (1..10000, 100 normal) for v1 shares (2..262144, 1024 normal), as runc maps them. */
export const weightFromShares = (shares: number): number => Math.round(1 + ((shares - 2) * 9999) / 262_142);
const sharesFromWeight = (weight: number): number => Math.round(2 + ((weight - 1) * 262_142) / 9999);

export interface CgroupLimitFile {
  file: string;
  /** What to write: the limit, or the file's "unlimited" value when `limited` is false. */
  value: string;
  limited: boolean;
}

/**
 * Every limit as the cgroup files that hold it, in the order a live update must write them: on v1
 * memsw may never be below memory, so it is lifted first and set last. The config (lxc.cgroup.* /
 * lxc.cgroup2.*) takes the `limited` ones; a live update writes all, so a lifted limit is lifted.
 */
export function cgroupLimitFiles(l: Limits, version: CgroupVersion): CgroupLimitFile[] {
  const mem = l.memoryBytes;
  const swap = l.swapBytes ?? 0;
  const shares = l.cpuShares ?? 0;
  const pids = l.pidsMax ?? 0;
  const f = (file: string, limited: boolean, value: string, unlimited: string): CgroupLimitFile => ({ file, limited, value: limited ? value : unlimited });
  if (version === 2) {
    return [
      f("memory.max", mem > 0, String(mem), "max"),
      f("memory.swap.max", swap > 0, String(swap), "max"),
      f("cpu.max", l.cpus > 0, `${cpuQuotaUs(l.cpus)} ${CPU_PERIOD_US}`, `max ${CPU_PERIOD_US}`),
      f("cpu.weight", shares > 0, String(weightFromShares(shares)), "100"),
      f("pids.max", pids > 0, String(pids), "max"),
    ];
  }
  const limitedSwap = mem > 0 && swap > 0;
  return [
    f("memory.memsw.limit_in_bytes", false, "", "-1"),
    f("memory.limit_in_bytes", mem > 0, String(mem), "-1"),
    f("memory.memsw.limit_in_bytes", limitedSwap, String(mem + swap), "-1"),
    f("cpu.cfs_period_us", l.cpus > 0, String(CPU_PERIOD_US), String(CPU_PERIOD_US)),
    f("cpu.cfs_quota_us", l.cpus > 0, String(cpuQuotaUs(l.cpus)), "-1"),
    f("cpu.shares", shares > 0, String(shares), "1024"),
    f("pids.max", pids > 0, String(pids), "max"),
  ];
}

/** The cgroup directory of a container, fixed per host so emulated hosts never collide (recipes). */
/**
 * lxcfs's own LXC include (Debian's lxcfs package): its mount hook binds /var/lib/lxcfs/proc/meminfo
 * and friends over the container's, so /proc/meminfo shows the container's own memory limit (and
 * follows a live `ct set`). Busybox's `free` takes its totals from sysinfo(2), which no FUSE file can
 * answer, and only its "available" column from /proc/meminfo: that is why `free` there still shows
 * the host's total while procps' `free`, which reads /proc/meminfo, shows the limit.
 */
export const LXCFS_INCLUDE = "/usr/share/lxc/config/common.conf.d/00-lxcfs.conf";
const LXCFS_MEMINFO = "/var/lib/lxcfs/proc/meminfo";

/** Adds lxcfs's include when lxcfs serves this host (its files exist) and its include is installed. */
export function setLxcfs(cfg: LxcConfig): LxcConfig {
  return existsSync(LXCFS_MEMINFO) && existsSync(LXCFS_INCLUDE) ? cfg.add("lxc.include", LXCFS_INCLUDE) : cfg;
}

/** The console log in the container's directory: `ct logs` reads it, and it moves with the container. */
export const CONSOLE_LOG = "console.log";
export const setConsoleLog = (cfg: LxcConfig, dir: string): LxcConfig => cfg.set("lxc.console.logfile", `${dir}/${CONSOLE_LOG}`);

export const cgroupDir = (host: string, name: string): string => `corral/${host}/${name}`;

/** Sets the three fixed cgroup paths; LXC refuses one without the others. */
export function setCgroupDirs(cfg: LxcConfig, host: string, name: string): LxcConfig {
  return cfg
    .set("lxc.cgroup.dir.container", cgroupDir(host, name))
    .set("lxc.cgroup.dir.monitor", `corral/${host}/${name}.monitor`)
    .set("lxc.cgroup.dir.monitor.pivot", `corral/${host}/pivot`);
}

/**
 * The seed's `-p docker` profile for LXC, as proven on this kernel (shared/recipes, nesting/):
 * nesting.conf, the cgroup hierarchies writable and mounted separately (`:force`, or docker inside
 * cannot set CPU limits), proc and sys writable, and the tun device, without which every inner
 * `docker run` fails writing "c 10:200 rwm".
 */
export const NESTING_LINES: readonly [string, string][] = [
  ["lxc.include", "/usr/share/lxc/config/nesting.conf"],
  ["lxc.mount.auto", "cgroup:rw:force proc:rw sys:rw"],
  ["lxc.cgroup.devices.allow", "c 10:200 rwm"],
];

export function setNesting(cfg: LxcConfig): LxcConfig {
  cfg.remove("lxc.mount.auto");
  for (const [k, v] of NESTING_LINES) cfg.add(k, v);
  // nesting.conf names an AppArmor profile; Corral's containers stay unconfined (set after the include).
  return cfg.set("lxc.apparmor.profile", "unconfined");
}

/**
 * The container's network: a veth on this host's bridge with the controller's address, or (no
 * address) an empty network namespace. Replaces whatever lxc.net keys were there, so a config from
 * another host leaves with this host's bridge and gateway.
 */
export function setNic(cfg: LxcConfig, nic: Nic | undefined): LxcConfig {
  cfg.remove("lxc.net", true);
  if (!nic) return cfg.set("lxc.net.0.type", "empty");
  return cfg
    .set("lxc.net.0.type", "veth")
    .set("lxc.net.0.link", nic.bridge)
    .set("lxc.net.0.flags", "up")
    .set("lxc.net.0.name", "eth0")
    .set("lxc.net.0.mtu", String(nic.mtu))
    .set("lxc.net.0.hwaddr", nic.mac)
    .set("lxc.net.0.ipv4.address", nic.address)
    .set("lxc.net.0.ipv4.gateway", nic.gateway);
}
