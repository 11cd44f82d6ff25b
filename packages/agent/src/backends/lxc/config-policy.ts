// What an LXC archive from another host may carry (DESIGN.md, "Threat model"): the container's
// directory, a `config` holding only settings Corral (or the stock template it ran) writes, and a
// rootfs. Hooks, extra mounts, includes, host paths, capabilities kept, cgroup device rules and the
// like are refused with the offending key named. Nothing here follows a symlink on the host.
import { constants } from "node:fs";
import { chmod, lstat, open } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument, NO_GRANTS, type RestoreGrants } from "@corral/wire";
import type { CheckedArchive } from "../../archive/safe-extract.js";
import type { TarPolicy } from "../../archive/tar-guard.js";
import { LXCFS_INCLUDE } from "./config.js";
import { NESTING_LINES } from "./config.js";

/** setuid files are normal in a rootfs (the busybox template makes busybox setuid); checked against the id map below. */
export const LXC_TAR_POLICY: TarPolicy = { setid: "allow" };

const MAX_CONFIG = 256 * 1024;
const DIGITS = /^-?\d{1,20}$/;

// The mount entries the busybox template writes (the same template exists on the target host).
const TEMPLATE_MOUNTS = new Set([
  "shm dev/shm tmpfs defaults,create=dir 0 0",
  "mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0",
  "/lib lib none ro,bind 0 0",
  "/usr/lib usr/lib none ro,bind 0 0",
  "/lib64 lib64 none ro,bind 0 0",
  "/usr/lib64 usr/lib64 none ro,bind 0 0",
  "/sys/kernel/security sys/kernel/security none ro,bind,optional 0 0",
]);
const MOUNT_AUTO = new Set(["proc:mixed", "sys:ro", "sys:mixed", "cgroup:mixed", "cgroup:ro"]);

type Check = (value: string, name: string) => boolean;

// Every key a config may hold, with the values it may take. Anything else is refused.
const ALLOWED: Record<string, Check> = {
  "lxc.rootfs.path": (v, name) => /^(dir:)?\/[^\s:]*$/.test(v) && v.endsWith(`/${name}/rootfs`) && !v.split("/").includes(".."),
  "lxc.uts.name": (v) => /^"?[A-Za-z0-9][A-Za-z0-9.-]{0,62}"?$/.test(v),
  "lxc.arch": (v) => /^[a-z0-9_]{1,16}$/.test(v),
  "lxc.signal.halt": (v) => /^(SIG[A-Z0-9+]{1,12}|\d{1,2})$/.test(v),
  "lxc.signal.reboot": (v) => /^(SIG[A-Z0-9+]{1,12}|\d{1,2})$/.test(v),
  "lxc.signal.stop": (v) => /^(SIG[A-Z0-9+]{1,12}|\d{1,2})$/.test(v),
  "lxc.autodev": (v) => v === "0" || v === "1",
  "lxc.tty.max": (v) => /^\d{1,3}$/.test(v),
  "lxc.pty.max": (v) => /^\d{1,4}$/.test(v),
  // Dropping capabilities only takes privilege away.
  "lxc.cap.drop": (v) => /^[a-z_ ]*$/.test(v),
  "lxc.mount.auto": (v) => v.split(/\s+/).every((t) => MOUNT_AUTO.has(t)),
  "lxc.mount.entry": (v) => TEMPLATE_MOUNTS.has(v.split(/\s+/).join(" ")),
  // What Corral's create writes: no network or a veth on the Corral bridge (the target rewrites
  // every lxc.net key for itself on commit), and the one AppArmor setting it uses everywhere.
  "lxc.net.0.type": (v) => v === "empty" || v === "veth",
  "lxc.net.0.link": (v) => /^[A-Za-z0-9_.-]{1,15}$/.test(v),
  "lxc.net.0.flags": (v) => v === "up",
  "lxc.net.0.name": (v) => v === "eth0",
  "lxc.net.0.mtu": (v) => /^\d{3,4}$/.test(v),
  "lxc.net.0.hwaddr": (v) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(v),
  "lxc.net.0.ipv4.address": (v) => /^[\d.]{7,15}\/\d{1,2}$/.test(v),
  "lxc.net.0.ipv4.gateway": (v) => /^[\d.]{7,15}$/.test(v),
  "lxc.apparmor.profile": (v) => v === "unconfined",
  // The target rewrites these three for itself on commit.
  "lxc.cgroup.dir.container": (v) => /^corral\/[a-z0-9.-]+\/[a-z0-9.-]+$/.test(v),
  "lxc.cgroup.dir.monitor": (v) => /^corral\/[a-z0-9.-]+\/[a-z0-9.-]+$/.test(v),
  "lxc.cgroup.dir.monitor.pivot": (v) => /^corral\/[a-z0-9.-]+\/[a-z0-9.-]+$/.test(v),
  "lxc.cgroup.memory.limit_in_bytes": (v) => DIGITS.test(v),
  "lxc.cgroup.memory.memsw.limit_in_bytes": (v) => DIGITS.test(v),
  "lxc.cgroup.cpu.cfs_quota_us": (v) => DIGITS.test(v),
  "lxc.cgroup.cpu.cfs_period_us": (v) => DIGITS.test(v),
  "lxc.cgroup2.memory.max": (v) => v === "max" || DIGITS.test(v),
  // Only maps onto subordinate ids: a map onto host root would make the container privileged.
  "lxc.idmap": (v) => {
    const m = /^[ug] (\d+) (\d+) (\d+)$/.exec(v);
    return !!m && Number(m[2]) >= 65536 && Number(m[3]) > 0;
  },
  // The stock per-distribution includes that templates write, and lxcfs's (its hooks are the
  // package's own files); nesting.conf and others are refused.
  "lxc.include": (v) => /^\/usr\/share\/lxc\/config\/([a-z]+\.)?(common|userns)\.conf$/.test(v) || v === LXCFS_INCLUDE,
};

/** Checks a config from an archive; throws naming the first key that Corral would not have written. */
export function checkLxcConfig(text: string, name: string, grants: RestoreGrants = NO_GRANTS): void {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw invalidArgument(`LXC config in the archive has a line that is not "key = value": ${JSON.stringify(line.slice(0, 80))}`);
    const key = m[1]!;
    const value = m[2]!;
    // --nesting's lines, value for value, and only when the controller's spec asked for nesting.
    if (grants.nesting && NESTING_LINES.some(([k, v]) => k === key && v === value)) continue;
    const check = ALLOWED[key];
    if (!check) throw invalidArgument(`LXC config in the archive sets "${key}", which Corral does not carry across hosts`);
    if (!check(value, name)) throw invalidArgument(`LXC config in the archive sets "${key}" to a value Corral does not carry: ${JSON.stringify(value.slice(0, 80))}`);
  }
}

/** Host id ranges an `lxc.idmap` config maps onto, per kind. */
function idRanges(text: string): { u: [number, number][]; g: [number, number][] } {
  const out = { u: [] as [number, number][], g: [] as [number, number][] };
  for (const m of text.matchAll(/^\s*lxc\.idmap\s*=\s*([ug]) \d+ (\d+) (\d+)\s*$/gm)) {
    out[m[1] as "u" | "g"].push([Number(m[2]), Number(m[2]) + Number(m[3])]);
  }
  return out;
}

const inRanges = (id: number, ranges: [number, number][]) => ranges.some(([lo, hi]) => id >= lo && id < hi);

/** Reads a staged regular file without following a symlink at its last component. */
async function readNoFollow(path: string, what: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    throw invalidArgument(`${what} cannot be opened (${err.code ?? err.message}): is it a symlink?`, err);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalidArgument(`${what} is not a regular file`);
    if (st.size > MAX_CONFIG) throw invalidArgument(`${what} is larger than ${MAX_CONFIG} bytes`);
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

/**
 * The staged container is `<staging>/<name>/` (a real directory, never a symlink), with a regular
 * `config` that passes checkLxcConfig and a real `rootfs/` directory. With an id map, setuid/setgid
 * files must belong to mapped ids. Run after extraction and again before commit.
 */
export async function checkStagedLxc(name: string, stagingDir: string, checked?: CheckedArchive, grants: RestoreGrants = NO_GRANTS): Promise<string> {
  const dir = join(stagingDir, name);
  const st = await lstat(dir).catch(() => undefined);
  if (!st) throw invalidArgument(`archive does not hold container "${name}" (no ${name}/config)`);
  if (!st.isDirectory()) throw invalidArgument(`archive's "${name}" is not a directory (a symlink?)`);
  // As lxc-create leaves it: host users must not reach a rootfs that may hold setuid-root programs.
  await chmod(dir, 0o770);
  const rootfs = await lstat(join(dir, "rootfs")).catch(() => undefined);
  if (!rootfs?.isDirectory()) throw invalidArgument(`archive's "${name}/rootfs" is missing or not a directory`);
  if (!(await lstat(join(dir, "config")).catch(() => undefined))) throw invalidArgument(`archive does not hold container "${name}" (no ${name}/config)`);
  const text = await readNoFollow(join(dir, "config"), `archive's "${name}/config"`);
  checkLxcConfig(text, name, grants);
  if (checked && checked.setid.length > 0) {
    const ids = idRanges(text);
    const privileged = ids.u.length === 0 && ids.g.length === 0;
    for (const f of checked.setid) {
      const ok = privileged || ((!(f.mode & 0o4000) || inRanges(f.uid, ids.u)) && (!(f.mode & 0o2000) || inRanges(f.gid, ids.g)));
      if (!ok) throw invalidArgument(`setuid/setgid file "${f.path}" is owned by ${f.uid}:${f.gid}, outside the container's id map`);
    }
  }
  return text;
}
