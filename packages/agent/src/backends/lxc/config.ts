// Reading and editing an LXC container's `config` file (key = value lines, keys may repeat).
import type { Limits } from "@corral/wire";
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

  limits(): Limits {
    const mem = Number(this.get("lxc.cgroup.memory.limit_in_bytes") ?? this.get("lxc.cgroup2.memory.max") ?? 0);
    const quota = Number(this.get("lxc.cgroup.cpu.cfs_quota_us") ?? 0);
    const period = Number(this.get("lxc.cgroup.cpu.cfs_period_us") ?? CPU_PERIOD_US);
    return {
      memoryBytes: Number.isFinite(mem) && mem > 0 ? mem : 0,
      cpus: quota > 0 && period > 0 ? Math.round((quota / period) * 100) / 100 : 0,
    };
  }

  setLimits(l: Limits): this {
    // A memory+swap limit (a converted OpenVZ CT's SWAPPAGES) is relative to the memory limit it
    // was set with: a new memory limit drops it, so that memsw can never end up below memory.
    this.remove(MEMSW).remove("lxc.cgroup.memory.limit_in_bytes").remove("lxc.cgroup.cpu.cfs_quota_us").remove("lxc.cgroup.cpu.cfs_period_us");
    if (l.memoryBytes > 0) this.set("lxc.cgroup.memory.limit_in_bytes", String(l.memoryBytes));
    if (l.cpus > 0) {
      this.set("lxc.cgroup.cpu.cfs_period_us", String(CPU_PERIOD_US));
      this.set("lxc.cgroup.cpu.cfs_quota_us", String(cpuQuotaUs(l.cpus)));
    }
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

/** The cgroup directory of a container, fixed per host so emulated hosts never collide (recipes). */
/**
 * lxcfs's own LXC include (Debian's lxcfs package): its mount hook binds /var/lib/lxcfs/proc/meminfo
 * and friends over the container's. Accepted in a migrated config; not yet written by create: on
 * the emulated hosts here `free` then still showed the host's MemTotal (only MemAvailable was the
 * container's), so it is left out until that is understood.
 */
export const LXCFS_INCLUDE = "/usr/share/lxc/config/common.conf.d/00-lxcfs.conf";

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
