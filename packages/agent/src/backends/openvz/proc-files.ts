// OpenVZ 6's own kernel interfaces, read as files under a proc root (default /proc; tests point it
// elsewhere). Which CTs run: /proc/vz/veinfo. Memory and process counts: the beancounters,
// /proc/bc/CTID/resources (or /proc/user_beancounters). CPU time and the CT's processes: the
// fairsched cgroup /proc/vz/fairsched/CTID (cpuacct.usage, cgroup.procs). Formats are those of the
// 042stab kernel; golden/ holds transcribed real outputs that these parsers are tested against.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupSample } from "../../usage/cgroup.js";
import { PAGE_SIZE, UNLIMITED_PAGES } from "./config.js";

/** One /proc/vz/veinfo line: `%10u %5u %5u` (CTID, class, processes), then one ` %15s` per IP. */
export interface VeinfoRow {
  ctid: number;
  nproc: number;
  ips: string[];
}

/** Parses /proc/vz/veinfo. CT0 (the host itself) is left out: it is not a container. */
export function parseVeinfo(text: string): Map<number, VeinfoRow> {
  const out = new Map<number, VeinfoRow>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[2]!)) continue;
    const ctid = Number(f[0]);
    if (ctid === 0) continue;
    out.set(ctid, { ctid, nproc: Number(f[2]), ips: f.slice(3) });
  }
  return out;
}

/** One beancounter: held, maxheld, barrier, limit, failcnt (pages for *pages, bytes for sizes). */
export interface Beancounter {
  held: number;
  maxheld: number;
  barrier: number;
  limit: number;
  failcnt: number;
}
export type Beancounters = Map<string, Beancounter>;

const bcNum = (s: string): number => {
  // LONG_MAX does not fit a double exactly; anything that large means "unlimited".
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
};

function bcRow(fields: string[]): [string, Beancounter] | undefined {
  if (fields.length !== 6 || !/^[a-z_]+$/.test(fields[0]!) || !fields.slice(1).every((x) => /^\d+$/.test(x))) return undefined;
  const [name, held, maxheld, barrier, limit, failcnt] = fields as [string, string, string, string, string, string];
  return [name, { held: bcNum(held), maxheld: bcNum(maxheld), barrier: bcNum(barrier), limit: bcNum(limit), failcnt: bcNum(failcnt) }];
}

/** Parses /proc/bc/CTID/resources: `resource held maxheld barrier limit failcnt` per line. */
export function parseBcResources(text: string): Beancounters {
  const out: Beancounters = new Map();
  for (const line of text.split("\n")) {
    const row = bcRow(line.trim().split(/\s+/));
    if (row && row[0] !== "dummy") out.set(row[0], row[1]);
  }
  return out;
}

/** Parses /proc/user_beancounters (version 2.5): a `uid:` line opens each CT's block. */
export function parseUserBeancounters(text: string): Map<number, Beancounters> {
  const out = new Map<number, Beancounters>();
  let cur: Beancounters | undefined;
  for (const line of text.split("\n")) {
    let fields = line.trim().split(/\s+/);
    const uid = /^(\d+):$/.exec(fields[0] ?? "");
    if (uid) {
      cur = new Map();
      out.set(Number(uid[1]), cur);
      fields = fields.slice(1);
    }
    const row = cur && bcRow(fields);
    if (row && row[0] !== "dummy") cur!.set(row[0], row[1]);
  }
  return out;
}

/** Bytes of a physpages limit; 0 when unlimited (LONG_MAX, or vzctl's 2251799813685248 pages). */
export function pagesLimitBytes(limitPages: number): number {
  return limitPages >= Number(UNLIMITED_PAGES) ? 0 : limitPages * PAGE_SIZE;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The pids of a fairsched group's cgroup.procs, in the kernel's order (init first). */
export function parseProcs(text: string | undefined): number[] {
  return (text ?? "").split("\n").filter((l) => /^\d+$/.test(l.trim())).map(Number);
}

/** OpenVZ 6's interfaces under one proc root. */
export class OpenvzProc {
  constructor(readonly root: string) {}

  /** The running CTs, from /proc/vz/veinfo. Undefined when the file is missing (not an OpenVZ kernel). */
  async running(): Promise<Map<number, VeinfoRow> | undefined> {
    const text = await readText(join(this.root, "vz/veinfo"));
    return text === undefined ? undefined : parseVeinfo(text);
  }

  /** A CT's beancounters: /proc/bc/CTID/resources, else its block of /proc/user_beancounters. */
  async beancounters(ctid: number): Promise<Beancounters | undefined> {
    const own = await readText(join(this.root, "bc", String(ctid), "resources"));
    if (own !== undefined) return parseBcResources(own);
    const all = await readText(join(this.root, "user_beancounters"));
    return all === undefined ? undefined : parseUserBeancounters(all).get(ctid);
  }

  /** The CT's processes, init first, from /proc/vz/fairsched/CTID/cgroup.procs. */
  async procs(ctid: number): Promise<number[]> {
    return parseProcs(await readText(join(this.root, "vz/fairsched", String(ctid), "cgroup.procs")));
  }

  /**
   * A running CT's usage, as the shared cgroup sample: CPU from fairsched's cpuacct.usage, memory
   * and processes from the physpages and numproc beancounters, block I/O from the beancounter
   * cgroup's blkio counters. Undefined when the CT does not run.
   */
  async sample(ctid: number, row: VeinfoRow | undefined): Promise<CgroupSample | undefined> {
    if (!row) return undefined;
    const fs = join(this.root, "vz/fairsched", String(ctid));
    const [bc, cpu, procs, blkio] = await Promise.all([
      this.beancounters(ctid),
      readText(join(fs, "cpuacct.usage")),
      readText(join(fs, "cgroup.procs")),
      readText(join(this.root, "vz/beancounter", String(ctid), "blkio.io_service_bytes")),
    ]);
    const phys = bc?.get("physpages");
    const numproc = bc?.get("numproc");
    const io = sumBlkio(blkio);
    return {
      cpuNanos: Number(cpu?.trim()) || 0,
      memoryBytes: (phys?.held ?? 0) * PAGE_SIZE,
      memoryLimitBytes: phys ? pagesLimitBytes(phys.limit) : 0,
      pids: numproc?.held ?? row.nproc,
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
      firstPid: parseProcs(procs)[0] ?? 0,
    };
  }
}


/** Read and Write bytes of a v1 blkio.io_service_bytes ("8:0 Read 4096" lines). */
function sumBlkio(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    const [, op, v] = line.trim().split(/\s+/);
    if (op === "Read") read += Number(v) || 0;
    else if (op === "Write") write += Number(v) || 0;
  }
  return { read, write };
}
