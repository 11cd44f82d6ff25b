// The agent's cgroup reader before issue 9 (seven readFile calls per container, each opening and
// closing its file, strings split and parsed per sample), kept verbatim as the usage bench's
// baseline. Not used by the agent.
import { readFile } from "node:fs/promises";
import type { CgroupSample as LegacySample } from "@corral/agent/test-support";

const NO_LIMIT = 2 ** 62;

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

function sumBlkioV1(text: string | undefined): { read: number; write: number } {
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

export async function legacyReadCgroup(rel: string, version: 1 | 2, root: string): Promise<LegacySample | undefined> {
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
