// Per-container usage read straight from cgroup files: no process is spawned per sample.
// v1 (this machine: one hierarchy per controller) and v2 (unified) are detected once.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

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

export function detectCgroupVersion(root = "/sys/fs/cgroup"): CgroupVersion {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}

const NO_LIMIT = 2 ** 62; // v1 reports "unlimited" as a huge page-aligned number

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

const num = (s: string | undefined): number => {
  const v = Number(s?.trim());
  return Number.isFinite(v) ? v : 0;
};

export function sumBlkioV1(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    const [, op, v] = line.trim().split(/\s+/);
    if (op === "Read") read += num(v);
    else if (op === "Write") write += num(v);
  }
  return { read, write };
}

function sumIoStatV2(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    for (const kv of line.split(/\s+/)) {
      if (kv.startsWith("rbytes=")) read += num(kv.slice(7));
      else if (kv.startsWith("wbytes=")) write += num(kv.slice(7));
    }
  }
  return { read, write };
}

const firstPidOf = (procs: string | undefined): number => num(procs?.split("\n", 1)[0]);

/**
 * Reads usage of the cgroup at `rel` (e.g. "corral/host1/c1") under `root`. Returns undefined when
 * the group does not exist (the container is not running).
 */
export async function readCgroup(rel: string, version: CgroupVersion, root = "/sys/fs/cgroup"): Promise<CgroupSample | undefined> {
  if (version === 2) {
    const dir = `${root}/${rel}`;
    const [cpu, mem, max, pids, io, procs] = await Promise.all(
      ["cpu.stat", "memory.current", "memory.max", "pids.current", "io.stat", "cgroup.procs"].map((f) => readText(`${dir}/${f}`)),
    );
    if (mem === undefined && cpu === undefined) return undefined;
    const usec = /usage_usec (\d+)/.exec(cpu ?? "")?.[1];
    const b = sumIoStatV2(io);
    return {
      cpuNanos: num(usec) * 1000,
      memoryBytes: num(mem),
      memoryLimitBytes: max?.trim() === "max" ? 0 : num(max),
      pids: num(pids),
      blockReadBytes: b.read,
      blockWriteBytes: b.write,
      firstPid: firstPidOf(procs),
    };
  }
  const [cpu, mem, limit, pids, blkio, procs] = await Promise.all([
    readText(`${root}/cpuacct/${rel}/cpuacct.usage`),
    readText(`${root}/memory/${rel}/memory.usage_in_bytes`),
    readText(`${root}/memory/${rel}/memory.limit_in_bytes`),
    readText(`${root}/pids/${rel}/pids.current`),
    readText(`${root}/blkio/${rel}/blkio.throttle.io_service_bytes`),
    readText(`${root}/memory/${rel}/cgroup.procs`),
  ]);
  if (mem === undefined && cpu === undefined) return undefined;
  const lim = num(limit);
  const b = sumBlkioV1(blkio);
  return {
    cpuNanos: num(cpu),
    memoryBytes: num(mem),
    memoryLimitBytes: lim >= NO_LIMIT ? 0 : lim,
    pids: num(pids),
    blockReadBytes: b.read,
    blockWriteBytes: b.write,
    firstPid: firstPidOf(procs),
  };
}

/** rx/tx bytes of every interface but lo, as seen from the network namespace of `pid`. */
export async function readNetDev(pid: number): Promise<{ rx: number; tx: number }> {
  if (pid <= 0) return { rx: 0, tx: 0 };
  const text = await readText(`/proc/${pid}/net/dev`);
  let rx = 0;
  let tx = 0;
  for (const line of (text ?? "").split("\n").slice(2)) {
    const [iface, rest] = line.split(":");
    if (!rest || iface?.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/);
    rx += num(f[0]);
    tx += num(f[8]);
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
