// What of an LXC container's config carries over to LXD (ct migrate --backend lxd), as lxc-to-lxd
// reports it: limits, hostname, network and id map have LXD equivalents; the keys that say where
// the container lives on this host are neither carried nor lost; anything else is named as dropped.
import type { ConversionItem, ConversionPlan } from "@corral/wire";
import { LxcConfig } from "./config.js";

const HOST_LOCAL = [/^lxc\.include$/, /^lxc\.arch$/, /^lxc\.rootfs\./, /^lxc\.cgroup\.dir\./, /^lxc\.apparmor\.profile$/, /^lxc\.cgroup\.cpu\.cfs_period_us$/];

const DROPPED_WHY: Record<string, string> = {
  "lxc.signal.halt": "LXD stops the container with its own signal",
  "lxc.mount.auto": "LXD mounts proc, sys and cgroups itself (nesting: set security.nesting on the target)",
  "lxc.mount.entry": "LXD mounts what its devices say; bind mounts are not carried",
  "lxc.cgroup.devices.allow": "device access is LXD's own (devices of the instance)",
  "lxc.tty.max": "LXD sets the container's consoles itself",
  "lxc.pty.max": "LXD sets the container's ptys itself",
  "lxc.autodev": "LXD populates /dev itself",
  "lxc.cap.drop": "LXD drops capabilities itself",
  "lxc.cgroup.memory.memsw.limit_in_bytes": "LXD takes swap as on or off (limits.memory.swap), which a conversion from LXC leaves at LXD's default",
};

export function planLxcToLxd(configText: string): ConversionPlan {
  const cfg = new LxcConfig(configText);
  const limits = cfg.limits();
  const carried: ConversionItem[] = [];
  const handled = new Set<string>();
  const mem = "lxc.cgroup.memory.limit_in_bytes";
  if (limits.memoryBytes > 0) carried.push({ key: mem, detail: `limits.memory=${limits.memoryBytes}` });
  handled.add(mem).add("lxc.cgroup2.memory.max");
  const quota = "lxc.cgroup.cpu.cfs_quota_us";
  if (limits.cpus > 0) {
    const lxd = Number.isInteger(limits.cpus) ? `limits.cpu=${limits.cpus}` : `limits.cpu=${Math.ceil(limits.cpus)}, limits.cpu.allowance=${Math.round(limits.cpus * 100)}ms/100ms`;
    carried.push({ key: quota, detail: lxd });
  }
  handled.add(quota);
  const uts = cfg.get("lxc.uts.name");
  if (uts) carried.push({ key: "lxc.uts.name", detail: `hostname ${uts} (in the rootfs's /etc/hostname)` });
  handled.add("lxc.uts.name");
  if (configText.match(/^\s*lxc\.net\./m)) carried.push({ key: "lxc.net.0", detail: "eth0 bridged on the target's container network, with the container's address" });
  if (configText.match(/^\s*lxc\.idmap\s*=/m)) carried.push({ key: "lxc.idmap", detail: "unprivileged under LXD's own id map (owners shifted back, then mapped by LXD)" });
  const dropped: ConversionItem[] = [];
  const seen = new Set<string>();
  for (const line of configText.split("\n")) {
    const key = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(line)?.[1];
    if (!key || seen.has(key) || handled.has(key) || key.startsWith("lxc.net.") || key === "lxc.idmap") continue;
    seen.add(key);
    if (HOST_LOCAL.some((re) => re.test(key))) continue;
    dropped.push({ key, detail: DROPPED_WHY[key] ?? "LXC-only setting" });
  }
  return { sourceBackend: "lxc", targetBackend: "lxd", carried, dropped };
}
