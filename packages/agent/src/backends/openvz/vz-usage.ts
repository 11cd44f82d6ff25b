// Usage of a container from its cgroup v1 files (/sys/fs/cgroup/<ctrl>/<prefix>/<CTID>), where the
// stand-in puts each container. Reading files only: usage() runs every few seconds for every CT.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface CgroupSample {
  running: boolean;
  cpuNanos: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  initPid: number;
}

const NO_LIMIT = 2 ** 60;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s.trim()) || 0);

export async function readCgroup(root: string, relPath: string): Promise<CgroupSample> {
  const at = (ctrl: string, file: string) => readText(join(root, ctrl, relPath, file));
  const [procs, cpu, mem, limit, pids, io] = await Promise.all([
    at("pids", "cgroup.procs"),
    at("cpuacct", "cpuacct.usage"),
    at("memory", "memory.usage_in_bytes"),
    at("memory", "memory.limit_in_bytes"),
    at("pids", "pids.current"),
    at("blkio", "blkio.throttle.io_service_bytes"),
  ]);
  const procList = (procs ?? "").split("\n").filter(Boolean).map(Number);
  let read = 0;
  let write = 0;
  for (const line of (io ?? "").split("\n")) {
    const [, op, value] = line.trim().split(/\s+/);
    if (op === "Read") read += Number(value) || 0;
    else if (op === "Write") write += Number(value) || 0;
  }
  const lim = num(limit);
  return {
    running: procList.length > 0,
    cpuNanos: num(cpu),
    memoryBytes: num(mem),
    memoryLimitBytes: lim > 0 && lim < NO_LIMIT ? lim : 0,
    pids: num(pids),
    blockReadBytes: read,
    blockWriteBytes: write,
    // The CT's init joined the cgroup first; everything else descends from it.
    initPid: procList.length ? Math.min(...procList) : 0,
  };
}

/** CPU % between two samples of the same container, 100 = one core. */
export class CpuPercent {
  private last = new Map<number, { nanos: number; at: bigint }>();

  update(ctid: number, nanos: number): number {
    const now = process.hrtime.bigint();
    const prev = this.last.get(ctid);
    this.last.set(ctid, { nanos, at: now });
    if (!prev || nanos < prev.nanos) return 0;
    const wall = Number(now - prev.at);
    return wall > 0 ? ((nanos - prev.nanos) / wall) * 100 : 0;
  }

  forget(ctid: number): void {
    this.last.delete(ctid);
  }
}
