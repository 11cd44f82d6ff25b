// CTID.conf (ctid.conf(5)): KEY="value" lines. Read without a shell, and sanitized before a config
// that came from another host is installed, because OpenVZ's own scripts source these files.
import { invalidArgument, mergeLimits, type Limits } from "@corral/wire";

export const PAGE_SIZE = 4096;
/**
 * What vzctl 4.x saves for "unlimited" in a pages pair: LONG_MAX bytes in pages, rounded up
 * (`--ram unlimited` is saved as "0:2251799813685248"). Any value this large means no limit.
 */
export const UNLIMITED_PAGES = 2251799813685248;

export type CtConfig = Map<string, string>;

const LINE_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

export function parseConfig(text: string): CtConfig {
  const out: CtConfig = new Map();
  for (const raw of text.split("\n")) {
    const m = LINE_RE.exec(raw);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) {
      v = v.slice(1, -1);
    }
    out.set(m[1]!, v);
  }
  return out;
}

/** `$VEID` in VE_ROOT/VE_PRIVATE stands for the container's own ID. */
export function substVeid(value: string, ctid: number): string {
  return value.replace(/\$\{?VEID\}?|\$\{?VE_ID\}?/g, String(ctid));
}

const SUFFIX_BYTES: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * One side of a PHYSPAGES/SWAPPAGES pair in pages, as ctid.conf(5) allows it: a plain number is
 * pages, a K/M/G/T suffix means bytes (the sample configs say "0:256M"), P means pages. Undefined
 * for "unlimited", vzctl's unlimited value, and anything that is not a size.
 */
export function pagesOf(value: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGTPkmgtp]?)$/.exec((value ?? "").trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toUpperCase();
  const pages = unit === "" || unit === "P" ? n : Math.ceil((n * SUFFIX_BYTES[unit]!) / PAGE_SIZE);
  return pages >= UNLIMITED_PAGES - 1 ? undefined : Math.floor(pages);
}

/** The limit part of a "barrier:limit" pair, in pages; undefined for unlimited or unset. */
export function limitPages(value: string | undefined): number | undefined {
  if (!value) return undefined;
  return pagesOf(value.includes(":") ? value.slice(value.indexOf(":") + 1) : value);
}

/** vzctl's CPUUNITS when none is given: the normal weight, reported as no cpu shares set. */
export const DEFAULT_CPUUNITS = 1000;

/** Bytes of a DISKSPACE side: 1K blocks, or a K/M/G/T suffix; 0 for unlimited or unset. */
function diskBytesOf(value: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTkmgt]?)$/.exec((value ?? "").trim());
  if (!m) return 0;
  const bytes = Math.round(Number(m[1]) * (m[2] ? SUFFIX_BYTES[m[2].toUpperCase()]! : 1024));
  return bytes >= 2 ** 53 ? 0 : bytes;
}

/** The limit of a "barrier:limit" count pair (NUMPROC); 0 for unlimited or unset. */
function countLimitOf(value: string | undefined): number {
  const n = Number((value ?? "").split(":").pop());
  return Number.isSafeInteger(n) && n > 0 && n < 2 ** 31 ? n : 0;
}

/**
 * Corral limits as the config states them: PHYSPAGES (RAM), CPULIMIT else CPUS, SWAPPAGES,
 * CPUUNITS (when not vzctl's default), NUMPROC and DISKSPACE's hard limit. 0 = none.
 */
export function limitsFromConfig(conf: CtConfig): Limits {
  const pages = limitPages(conf.get("PHYSPAGES"));
  const cpulimit = Number(conf.get("CPULIMIT") ?? 0);
  const cpus = Number(conf.get("CPUS") ?? 0);
  const swap = limitPages(conf.get("SWAPPAGES"));
  const units = Number(conf.get("CPUUNITS") ?? 0);
  const disk = conf.get("DISKSPACE") ?? "";
  return mergeLimits(
    { memoryBytes: pages === undefined ? 0 : pages * PAGE_SIZE, cpus: cpulimit > 0 ? cpulimit / 100 : Number.isFinite(cpus) ? cpus : 0 },
    {
      swapBytes: swap === undefined ? 0 : swap * PAGE_SIZE,
      cpuShares: Number.isSafeInteger(units) && units !== DEFAULT_CPUUNITS ? units : 0,
      pidsMax: countLimitOf(conf.get("NUMPROC")),
      diskBytes: diskBytesOf(disk.includes(":") ? disk.slice(disk.indexOf(":") + 1) : disk),
    },
  );
}

/**
 * `vzctl set` options for Corral limits: --ram with --swap (vzctl refuses to start a VSwap CT whose
 * PHYSPAGES is set without SWAPPAGES, exit 28, when the sample config had no swap; without a swap
 * limit no swap is granted beyond the memory limit); --cpus, plus --cpulimit for fractions. The
 * later limits follow when set: --cpuunits (Corral's cpu shares as they are: both weights are about
 * 1000 for normal), --numproc, --diskspace as soft and hard limit; one set in `current` (the config
 * now) and not in `limits` is lifted to vzctl's "unlimited" (cpu units: the default weight).
 */
export function limitArgs(limits: Limits, current?: Limits): string[] {
  if (limits.memoryBytes < 0 || limits.cpus < 0) throw invalidArgument("limits must not be negative");
  const kib = (bytes: number): string => `${Math.ceil(bytes / PAGE_SIZE) * (PAGE_SIZE / 1024)}K`;
  const swap = limits.swapBytes ?? 0;
  const args = ["--ram", limits.memoryBytes > 0 ? kib(limits.memoryBytes) : "unlimited", "--swap", swap > 0 ? kib(swap) : "0"];
  const whole = Number.isInteger(limits.cpus);
  args.push("--cpus", String(Math.ceil(limits.cpus)));
  args.push("--cpulimit", whole ? "0" : String(Math.round(limits.cpus * 100)));
  const later = (flag: string, want: number | undefined, had: number | undefined, value: (n: number) => string, none: string): void => {
    if (want) args.push(flag, value(want));
    else if (had) args.push(flag, none);
  };
  later("--cpuunits", limits.cpuShares, current?.cpuShares, String, String(DEFAULT_CPUUNITS));
  later("--numproc", limits.pidsMax, current?.pidsMax, String, "unlimited");
  later("--diskspace", limits.diskBytes, current?.diskBytes, (n) => `${Math.ceil(n / 1024)}K`, "unlimited");
  return args;
}

// Values may use $VEID and nothing else a shell would expand.
const SAFE_VALUE_RE = /^[^"`\\$]*(\$VEID[^"`\\$]*)*$/;

/**
 * Rewrites a config copied from another host for this one: only plain KEY="value" lines survive,
 * VE_PRIVATE/VE_ROOT point at this host's areas, and keys in `drop` (e.g. NAME) are removed.
 */
export function rewriteConfigForHost(
  text: string,
  set: Record<string, string>,
  drop: readonly string[] = [],
): string {
  const out: string[] = [];
  const pending = new Map(Object.entries(set));
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) {
      out.push(line);
      continue;
    }
    const m = /^([A-Z_][A-Z0-9_]*)="(.*)"$/.exec(line);
    if (!m || !SAFE_VALUE_RE.test(m[2]!)) {
      throw invalidArgument(`container config from the archive has an unsafe line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const key = m[1]!;
    if (drop.includes(key)) continue;
    if (pending.has(key)) {
      out.push(`${key}="${pending.get(key)}"`);
      pending.delete(key);
    } else out.push(line);
  }
  while (out.length && out.at(-1) === "") out.pop();
  for (const [k, v] of pending) out.push(`${k}="${v}"`);
  return out.join("\n") + "\n";
}
