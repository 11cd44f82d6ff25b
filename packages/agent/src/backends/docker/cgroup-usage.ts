// Reads one container's usage straight from its cgroup files and its network namespace's
// /proc/<pid>/net/dev: no stats API stream per container, no process spawned per sample.
import { readFile } from "node:fs/promises";

const CGROUP_ROOT = "/sys/fs/cgroup";
/** cgroup v1 reports "no limit" as a page-rounded LONG_MAX; anything this large means unlimited. */
const UNLIMITED = 2 ** 60;

export interface CgroupSample {
  cpuNanos: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
}

/** controller → path inside its hierarchy ("" key for the v2 unified hierarchy), from /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const ctrl of (m[1] ?? "").split(",")) out.set(ctrl, m[2] ?? "");
  }
  return out;
}

const readText = (path: string): Promise<string | undefined> => readFile(path, "utf8").catch(() => undefined);
const readNumber = async (path: string): Promise<number> => Number((await readText(path))?.trim() ?? 0) || 0;

function sumBlkio(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    const [, op, value] = line.trim().split(/\s+/);
    if (op === "Read") read += Number(value) || 0;
    else if (op === "Write") write += Number(value) || 0;
  }
  return { read, write };
}

function sumIoStat(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of (text ?? "").matchAll(/\brbytes=(\d+)|\bwbytes=(\d+)/g)) {
    if (m[1]) read += Number(m[1]);
    if (m[2]) write += Number(m[2]);
  }
  return { read, write };
}

/** Bytes over every interface but loopback, as seen from inside the container's network namespace. */
export function parseNetDev(text: string | undefined): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of (text ?? "").split("\n").slice(2)) {
    const [iface, rest] = line.split(":");
    if (!rest || iface?.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/);
    rx += Number(f[0]) || 0;
    tx += Number(f[8]) || 0;
  }
  return { rx, tx };
}

export async function readCgroupSample(pid: number, paths: Map<string, string>): Promise<CgroupSample> {
  const v1 = (ctrl: string, file: string): string | undefined => {
    const rel = paths.get(ctrl);
    return rel === undefined ? undefined : `${CGROUP_ROOT}/${ctrl}${rel}/${file}`;
  };
  const net = parseNetDev(await readText(`/proc/${pid}/net/dev`));
  if (paths.has("memory")) {
    const [cpu, mem, limit, pids, blkio] = await Promise.all([
      readNumber(v1("cpuacct", "cpuacct.usage") ?? ""),
      readNumber(v1("memory", "memory.usage_in_bytes") ?? ""),
      readNumber(v1("memory", "memory.limit_in_bytes") ?? ""),
      readNumber(v1("pids", "pids.current") ?? ""),
      readText(v1("blkio", "blkio.throttle.io_service_bytes") ?? ""),
    ]);
    const io = sumBlkio(blkio);
    return {
      cpuNanos: cpu,
      memoryBytes: mem,
      memoryLimitBytes: limit >= UNLIMITED ? 0 : limit,
      pids,
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
      netRxBytes: net.rx,
      netTxBytes: net.tx,
    };
  }
  // Pure cgroup v2: one hierarchy, controllers' files side by side.
  const dir = `${CGROUP_ROOT}${paths.get("") ?? ""}`;
  const [cpuStat, mem, max, pids, ioStat] = await Promise.all([
    readText(`${dir}/cpu.stat`),
    readNumber(`${dir}/memory.current`),
    readText(`${dir}/memory.max`),
    readNumber(`${dir}/pids.current`),
    readText(`${dir}/io.stat`),
  ]);
  const usec = Number(/usage_usec (\d+)/.exec(cpuStat ?? "")?.[1] ?? 0);
  const io = sumIoStat(ioStat);
  return {
    cpuNanos: usec * 1000,
    memoryBytes: mem,
    memoryLimitBytes: max && max.trim() !== "max" ? Number(max.trim()) || 0 : 0,
    pids,
    blockReadBytes: io.read,
    blockWriteBytes: io.write,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
  };
}
