// Per-container usage read straight from cgroup files: no process is spawned per sample.
// v1 (this machine: one hierarchy per controller) and v2 (unified) are detected once.
//
// Sampling cost matters (1,000 containers, one sample a second): a CgroupReader keeps each group's
// files open and re-reads them from offset 0 into one shared buffer, parsing numbers from the bytes,
// so a sample is a run of pread(2) calls with no open/close, no promise and no string per file.
import { closeSync, existsSync, openSync, readSync } from "node:fs";

export interface CgroupSample {
  cpuNanos: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  /** First process of the group, to read its network namespace's counters. 0 when empty. */
  firstPid: number;
}

export type CgroupVersion = 1 | 2;

/** Where the hierarchies are mounted (v1: one directory per controller below it). */
export const CGROUP_ROOT = "/sys/fs/cgroup";

export function detectCgroupVersion(root = "/sys/fs/cgroup"): CgroupVersion {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}

const NO_LIMIT = 2 ** 62; // v1 reports "unlimited" as a huge page-aligned number

export const emptySample = (): CgroupSample => ({
  cpuNanos: 0,
  memoryBytes: 0,
  memoryLimitBytes: 0,
  pids: 0,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  firstPid: 0,
});

// The files of one group, in the order read() fills a sample. Paths relative to the root: v1 has one
// hierarchy per controller, v2 one directory.
const FILES_V1 = [
  "cpuacct/%/cpuacct.usage",
  "memory/%/memory.usage_in_bytes",
  "memory/%/memory.limit_in_bytes",
  "pids/%/pids.current",
  "blkio/%/blkio.throttle.io_service_bytes",
  "memory/%/cgroup.procs",
] as const;
const FILES_V2 = ["%/cpu.stat", "%/memory.current", "%/memory.max", "%/pids.current", "%/io.stat", "%/cgroup.procs"] as const;
const [CPU, MEM, LIMIT, PIDS, IO, PROCS] = [0, 1, 2, 3, 4, 5] as const;
// Bytes asked of each read: a number file fits in 32 (2^64 has 20 digits), v2's usage_usec is the
// first line of cpu.stat, and only the first line of cgroup.procs is wanted. Asking for no more than
// that cuts the kernel's share of a read by a fifth here.
const NUMBER_BYTES = 32;
const CPU_STAT_BYTES = 64;

const ch = (s: string): number => s.charCodeAt(0);
const SP = ch(" ");
const NL = ch("\n");
const ZERO = ch("0");
const NINE = ch("9");
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
const USAGE_USEC = bytes("usage_usec ");
const RBYTES = bytes("rbytes=");
const WBYTES = bytes("wbytes=");
const READ = bytes("Read ");
const WRITE = bytes("Write ");

/** The decimal number at `at` (0 when there is none). */
function numAt(buf: Uint8Array, at: number, end: number): number {
  let v = 0;
  for (let i = at; i < end; i++) {
    const c = buf[i] as number;
    if (c < ZERO || c > NINE) break;
    v = v * 10 + (c - ZERO);
  }
  return v;
}

const startsAt = (buf: Uint8Array, at: number, end: number, word: Uint8Array): boolean => {
  if (at + word.length > end) return false;
  for (let j = 0; j < word.length; j++) if (buf[at + j] !== word[j]) return false;
  return true;
};

/** Sum of the numbers that follow `word` at the start of any space- or line-separated token. */
function sumAfter(buf: Uint8Array, end: number, word: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < end; i++) {
    if ((i === 0 || buf[i - 1] === SP || buf[i - 1] === NL) && startsAt(buf, i, end, word)) sum += numAt(buf, i + word.length, end);
  }
  return sum;
}

/** Every group's file is read into this one buffer: only one read is parsed at a time. */
const BUF_SIZE = 64 * 1024;

interface OpenGroup {
  fds: number[];
}

/**
 * Reads the usage of many cgroups again and again. Groups are opened on first read and kept open;
 * a group whose files fail to read (removed, or removed and made again by a restart) is closed and
 * opened afresh once. `retain` closes the groups no longer asked for.
 */
export class CgroupReader {
  private readonly groups = new Map<string, OpenGroup>();
  private readonly buf = new Uint8Array(BUF_SIZE);
  private readonly files: readonly string[];

  constructor(
    readonly version: CgroupVersion = detectCgroupVersion(),
    private readonly root = "/sys/fs/cgroup",
  ) {
    this.files = version === 2 ? FILES_V2 : FILES_V1;
  }

  /** Fills `out` with the usage of the group at `rel` (e.g. "corral/host1/c1"); false when it does not exist. */
  read(rel: string, out: CgroupSample): boolean {
    let g = this.groups.get(rel);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!g) {
        g = this.open(rel);
        if (!g) return false;
        this.groups.set(rel, g);
      }
      if (this.fill(g, out)) return true;
      this.close(rel);
      g = undefined;
    }
    return false;
  }

  /** Closes every open group whose path is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const rel of this.groups.keys()) if (!keep.has(rel)) this.close(rel);
  }

  close(rel: string): void {
    const g = this.groups.get(rel);
    if (!g) return;
    this.groups.delete(rel);
    for (const fd of g.fds) if (fd >= 0) closeSync(fd);
  }

  closeAll(): void {
    for (const rel of [...this.groups.keys()]) this.close(rel);
  }

  get openGroups(): number {
    return this.groups.size;
  }

  private open(rel: string): OpenGroup | undefined {
    const fds = this.files.map((f) => {
      try {
        return openSync(`${this.root}/${f.replace("%", rel)}`, "r");
      } catch {
        return -1;
      }
    });
    // As before: a group with neither memory nor CPU accounting is not there.
    if (fds[CPU] === -1 && fds[MEM] === -1) {
      for (const fd of fds) if (fd >= 0) closeSync(fd);
      return undefined;
    }
    return { fds };
  }

  /** Bytes of file `i` in the buffer: -1 when it failed to read (the group went away), 0 when absent. */
  private load(g: OpenGroup, i: number, max = BUF_SIZE): number {
    const fd = g.fds[i] as number;
    if (fd < 0) return 0;
    try {
      return readSync(fd, this.buf, 0, max, 0);
    } catch {
      return -1;
    }
  }

  private fill(g: OpenGroup, out: CgroupSample): boolean {
    const b = this.buf;
    const v2 = this.version === 2;
    let n = this.load(g, CPU, v2 ? CPU_STAT_BYTES : NUMBER_BYTES);
    if (n < 0) return false;
    out.cpuNanos = v2 ? sumAfter(b, n, USAGE_USEC) * 1000 : numAt(b, 0, n);
    if ((n = this.load(g, MEM, NUMBER_BYTES)) < 0) return false;
    out.memoryBytes = numAt(b, 0, n);
    if ((n = this.load(g, LIMIT, NUMBER_BYTES)) < 0) return false;
    const lim = numAt(b, 0, n); // v2 "max" parses as 0: no limit
    out.memoryLimitBytes = lim >= NO_LIMIT ? 0 : lim;
    if ((n = this.load(g, PIDS, NUMBER_BYTES)) < 0) return false;
    out.pids = numAt(b, 0, n);
    if ((n = this.load(g, IO)) < 0) return false;
    out.blockReadBytes = sumAfter(b, n, v2 ? RBYTES : READ);
    out.blockWriteBytes = sumAfter(b, n, v2 ? WBYTES : WRITE);
    if ((n = this.load(g, PROCS, NUMBER_BYTES)) < 0) return false;
    out.firstPid = numAt(b, 0, n);
    return true;
  }
}

/**
 * Reads usage of the cgroup at `rel` (e.g. "corral/host1/c1") under `root` once, opening and closing
 * its files. Returns undefined when the group does not exist (the container is not running). For
 * repeated sampling keep a CgroupReader instead.
 */
export async function readCgroup(rel: string, version: CgroupVersion, root = "/sys/fs/cgroup"): Promise<CgroupSample | undefined> {
  const reader = new CgroupReader(version, root);
  try {
    const out = emptySample();
    return reader.read(rel, out) ? out : undefined;
  } finally {
    reader.closeAll();
  }
}

const netBuf = new Uint8Array(BUF_SIZE);
const COLON = ch(":");

/** rx/tx bytes of every interface but lo, as seen from the network namespace of `pid`. */
export async function readNetDev(pid: number): Promise<{ rx: number; tx: number }> {
  if (pid <= 0) return { rx: 0, tx: 0 };
  let n = 0;
  try {
    const fd = openSync(`/proc/${pid}/net/dev`, "r");
    try {
      n = readSync(fd, netBuf, 0, BUF_SIZE, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return { rx: 0, tx: 0 };
  }
  return sumNetDev(netBuf, n);
}

/** Parses /proc/net/dev: two header lines, then "  iface: rx_bytes … (8 fields) tx_bytes …". */
export function sumNetDev(buf: Uint8Array, end: number): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  let line = 0;
  let i = 0;
  while (i < end) {
    let eol = buf.indexOf(NL, i);
    if (eol < 0 || eol > end) eol = end;
    if (line++ >= 2) {
      const colon = buf.indexOf(COLON, i);
      if (colon > 0 && colon < eol) {
        let s = i;
        while (buf[s] === SP) s++;
        const isLo = colon - s === 2 && buf[s] === ch("l") && buf[s + 1] === ch("o");
        if (!isLo) {
          let field = 0;
          let j = colon + 1;
          while (j < eol) {
            while (j < eol && buf[j] === SP) j++;
            if (j >= eol) break;
            if (field === 0) rx += numAt(buf, j, eol);
            else if (field === 8) tx += numAt(buf, j, eol);
            while (j < eol && buf[j] !== SP) j++;
            field++;
          }
        }
      }
    }
    i = eol + 1;
  }
  return { rx, tx };
}

/** CPU % between consecutive samples of the same key (100 = one full core). */
export class CpuPercent {
  private readonly last = new Map<string, { nanos: number; at: bigint }>();

  sample(key: string, cpuNanos: number, now = process.hrtime.bigint()): number {
    const prev = this.last.get(key);
    this.last.set(key, { nanos: cpuNanos, at: now });
    if (!prev) return 0;
    const wall = Number(now - prev.at);
    return wall > 0 && cpuNanos >= prev.nanos ? Math.round(((cpuNanos - prev.nanos) / wall) * 10000) / 100 : 0;
  }

  forget(key: string): void {
    this.last.delete(key);
  }

  forgetExcept(keys: Set<string>): void {
    for (const k of this.last.keys()) if (!keys.has(k)) this.last.delete(k);
  }
}
