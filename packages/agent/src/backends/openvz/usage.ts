// Usage of a stand-in/OpenVZ container from its cgroup v1 files (/sys/fs/cgroup/<ctrl>/<prefix>/<CTID>),
// through the agent's shared reader. Reading files only: usage() runs every few seconds for every CT.
import { readCgroup as readGroup, type CgroupSample as SharedSample } from "../../usage/cgroup.js";

export { CpuPercent } from "../../usage/cgroup.js";

/** The shared sample, with "running" and the CT's init pid spelled out. */
export type CgroupSample = Omit<SharedSample, "firstPid"> & { running: boolean; initPid: number };

export async function readCgroup(root: string, relPath: string): Promise<CgroupSample> {
  const s = await readGroup(relPath, 1, root);
  return {
    running: !!s && s.pids > 0,
    cpuNanos: s?.cpuNanos ?? 0,
    memoryBytes: s?.memoryBytes ?? 0,
    memoryLimitBytes: s?.memoryLimitBytes ?? 0,
    pids: s?.pids ?? 0,
    blockReadBytes: s?.blockReadBytes ?? 0,
    blockWriteBytes: s?.blockWriteBytes ?? 0,
    // The CT's init joined the cgroup first.
    initPid: s && s.pids > 0 ? s.firstPid : 0,
  };
}
