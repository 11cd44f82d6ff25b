// Usage of a stand-in/OpenVZ container from its cgroup v1 files (/sys/fs/cgroup/<ctrl>/<prefix>/<CTID>),
// through the agent's shared reader. Reading files only: usage() runs every few seconds for every CT.
import { readCgroup as readGroup, type CgroupSample as SharedSample } from "../../usage/cgroup.js";

/** The shared sample of a CT's cgroup (v1: the stand-in and OpenVZ 6 kernels have nothing else). */
export function readSample(root: string, relPath: string): Promise<SharedSample | undefined> {
  return readGroup(relPath, 1, root);
}

/** Whether the CT runs, and its init pid: the CT's init joined the cgroup first. */
export async function runState(root: string, relPath: string): Promise<{ running: boolean; initPid: number }> {
  const s = await readSample(root, relPath);
  const running = !!s && s.pids > 0;
  return { running, initPid: running ? s.firstPid : 0 };
}
