import { BACKEND_NAMES, type BackendName, type Compression, type Limits } from "./types.js";
import { invalidArgument } from "./errors.js";

// Container names travel into file paths, cgroup paths and runtime CLIs: keep them to a safe,
// DNS-label-like alphabet, as LXD does.
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateName(kind: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw invalidArgument(
      `invalid ${kind} name "${name}": use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function parseBackend(name: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw invalidArgument(`unknown backend "${name}": expected one of ${BACKEND_NAMES.join(", ")}`);
}

export function parseCompression(name: string): Compression {
  if (name === "" || name === "none") return "none";
  if (name === "zstd") return "zstd";
  throw invalidArgument(`unknown compression "${name}": expected none or zstd`);
}

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KB: 1000,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1000 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1000 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1000 ** 4,
  TIB: 1024 ** 4,
};

export interface SizeOptions {
  /**
   * Refuse a number without a unit, with a hint ("did you mean 256M?"): a person typing
   * `--memory 256` means megabytes, not 256 bytes. Runtimes' own values (LXD's limits.memory)
   * may be plain bytes, so this is for what people type.
   */
  requireUnit?: boolean;
}

/** "256M", "1G", "512MiB", "1.5GB", "1048576" → bytes. Binary units for single letters, as docker and vzctl do. */
export function parseSize(what: string, text: string, opts: SizeOptions = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m?.[2]?.toUpperCase() ?? "";
  const mult = UNITS[unit];
  if (!m || mult === undefined) {
    throw invalidArgument(`invalid ${what} "${text}": expected a size such as 256M, 1G or 512MiB`);
  }
  const bytes = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalidArgument(`invalid ${what} "${text}": must be positive`);
  if (opts.requireUnit && unit === "") {
    throw invalidArgument(`invalid ${what} "${text}": a size needs a unit; did you mean ${(m[1] as string)}M?`);
  }
  return bytes;
}

export function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n) || n <= 0 || n > 1024) {
    throw invalidArgument(`invalid cpus "${text}": expected a positive number such as 1 or 0.5`);
  }
  return n;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Limits as the controller and agents accept them: 0 means unlimited for every field. */
export function validateLimits(limits: Limits): void {
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes < 0) {
    throw invalidArgument(`invalid memory limit ${limits.memoryBytes}: must be 0 (unlimited) or a positive byte count`);
  }
  if (!Number.isFinite(limits.cpus) || limits.cpus < 0 || limits.cpus > 1024) {
    throw invalidArgument(`invalid cpus ${limits.cpus}: must be 0 (unlimited) or a positive number`);
  }
  const whole = (what: string, v: number | undefined, max: number): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0 || v > max)) {
      throw invalidArgument(`invalid ${what} ${v}: must be 0 (unlimited) or a whole number up to ${max}`);
    }
  };
  whole("swap limit", limits.swapBytes, Number.MAX_SAFE_INTEGER);
  whole("disk limit", limits.diskBytes, Number.MAX_SAFE_INTEGER);
  whole("pids limit", limits.pidsMax, MAX_PIDS);
  whole("cpu shares", limits.cpuShares, MAX_CPU_SHARES);
  if ((limits.cpuShares ?? 0) > 0 && (limits.cpuShares as number) < MIN_CPU_SHARES) {
    throw invalidArgument(`cpu shares ${limits.cpuShares} is below the minimum of ${MIN_CPU_SHARES} (1024 is a normal share)`);
  }
  // Every runtime counts swap on top of a memory limit (Docker's MemorySwap, cgroup v1 memsw).
  if ((limits.swapBytes ?? 0) > 0 && limits.memoryBytes === 0) {
    throw invalidArgument("a swap limit needs a memory limit: give --memory too");
  }
}

/** The kernel's bounds for cgroup v1 cpu.shares (cgroup v2 cpu.weight is derived from it). */
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262_144;
/** The kernel's PID_MAX_LIMIT (pids.max cannot usefully go above it). */
export const MAX_PIDS = 4_194_304;

/**
 * The smallest memory limit each runtime accepts (0, no limit, is always accepted). Docker refuses
 * less than 6 MiB ("Minimum memory limit allowed is 6MB"); the others have no documented floor.
 */
export const MIN_MEMORY_BYTES: Readonly<Partial<Record<BackendName, number>>> = { docker: 6 * 1024 * 1024 };

/** The smallest CPU weight each runtime accepts where it differs: vzctl's cpuunits start at 8. */
const MIN_BACKEND_CPU_SHARES: Readonly<Partial<Record<BackendName, number>>> = { openvz: 8 };

/**
 * Where a disk quota exists: LXD's root disk device `size` (on pools that enforce it; the agent
 * refuses on the others) and OpenVZ's DISKSPACE. LXC's directory rootfs and Docker's overlay2 have none.
 */
const NO_DISK_QUOTA: Readonly<Partial<Record<BackendName, string>>> = {
  docker: "docker has no disk quota on overlay2",
  lxc: "lxc keeps its rootfs in a plain directory, which has no quota",
};
/** The smallest disk quota: below it no root filesystem fits (LXD and vzctl take any size). */
export const MIN_DISK_BYTES = 16 * 1024 * 1024;

/** validateLimits, and the backend's own minimums: refused with the floor named, before anything is changed. */
export function validateBackendLimits(backend: BackendName, limits: Limits): void {
  validateLimits(limits);
  const min = MIN_MEMORY_BYTES[backend];
  if (min !== undefined && limits.memoryBytes > 0 && limits.memoryBytes < min) {
    throw invalidArgument(`memory limit ${formatBytes(limits.memoryBytes)} is below ${backend}'s minimum of ${formatBytes(min)}`);
  }
  const minShares = MIN_BACKEND_CPU_SHARES[backend];
  if (minShares !== undefined && (limits.cpuShares ?? 0) > 0 && (limits.cpuShares as number) < minShares) {
    throw invalidArgument(`cpu shares ${limits.cpuShares} is below ${backend}'s minimum of ${minShares}`);
  }
  if (backend === "lxd" && (limits.swapBytes ?? 0) > 0) {
    throw invalidArgument("lxd cannot cap swap at an amount (limits.memory.swap only turns swap on or off): leave out --swap");
  }
  if (backend === "lxd" && (limits.cpuShares ?? 0) > 0 && !Number.isInteger(limits.cpus)) {
    throw invalidArgument("lxd keeps a fractional CPU limit and CPU shares in one key (limits.cpu.allowance): give whole --cpus or leave out --cpu-shares");
  }
  const disk = limits.diskBytes ?? 0;
  const noQuota = NO_DISK_QUOTA[backend];
  if (disk > 0 && noQuota) throw invalidArgument(`cannot limit the disk: ${noQuota}; leave out --disk`);
  if (disk > 0 && disk < MIN_DISK_BYTES) {
    throw invalidArgument(`disk limit ${formatBytes(disk)} is below the minimum of ${formatBytes(MIN_DISK_BYTES)}`);
  }
}

const DURATION_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * "90s", "15m", "12h", "30d", "2w" → seconds: the one duration parser (token and join-token TTLs,
 * drain deadlines). A unit is required: a bare number's unit is a guess (the `ms` package reads it
 * as milliseconds), and for a TTL or a deadline a silent unit is a trap.
 */
export function parseDuration(what: string, text: string): number {
  const m = /^\s*(\d+)\s*([smhdw])\s*$/.exec(text);
  const seconds = m ? Number(m[1]) * (DURATION_SECONDS[m[2] as string] as number) : NaN;
  if (!m || !Number.isSafeInteger(seconds) || seconds <= 0) {
    throw invalidArgument(`invalid ${what} "${text}": expected a positive number with a unit s, m, h, d or w, such as 12h or 30d`);
  }
  return seconds;
}

/**
 * A `ct cp` path inside a container: absolute, no NUL, bounded; `sourceName` (copy in) is the one
 * top-level member of the tar, a single path component. Checked at the controller and again by
 * the agent, which trusts neither the CLI nor the controller with a path on its host.
 */
export function checkCopyTarget(path: string, sourceName?: string): void {
  if (!path.startsWith("/")) throw invalidArgument(`container path "${path}" must be absolute (NAME:/path)`);
  if (path.includes("\0") || path.length > 4096) throw invalidArgument("container path is not a valid path");
  if (sourceName === undefined) return;
  if (sourceName === "" || sourceName === "." || sourceName === ".." || sourceName.includes("/") || sourceName.includes("\0") || sourceName.length > 255) {
    throw invalidArgument(`source name "${sourceName}" must be one path component`);
  }
}
