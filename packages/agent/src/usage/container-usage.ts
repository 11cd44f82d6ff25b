// "cgroup sample → container usage", once for every backend that reads cgroups (LXC, Docker,
// OpenVZ), with CPU % from the one CpuPercent that LXD's API figures go through too.
import type { BackendName, ContainerUsage } from "@corral/wire";
import type { CgroupSample, CpuPercent } from "./cgroup.js";

/** A row for a container that is not running, or whose cgroup is gone: state and zeros. */
export function idleUsage(name: string, backend: BackendName, state: ContainerUsage["state"] = "stopped"): ContainerUsage {
  return {
    name,
    backend,
    state,
    cpuNanos: 0,
    cpuPercent: 0,
    memoryBytes: 0,
    memoryLimitBytes: 0,
    pids: 0,
    blockReadBytes: 0,
    blockWriteBytes: 0,
    netRxBytes: 0,
    netTxBytes: 0,
  };
}

/**
 * One container's usage from its cgroup sample. A group with no process (or none at all) reads as
 * stopped; CPU % is sampled under `cpuKey` (a runtime id, so a renamed container starts afresh).
 */
export function usageFromCgroup(
  name: string,
  backend: BackendName,
  s: CgroupSample | undefined,
  cpu: CpuPercent,
  cpuKey: string,
  net: { rx: number; tx: number } = { rx: 0, tx: 0 },
): ContainerUsage {
  if (!s || s.pids <= 0) {
    cpu.forget(cpuKey);
    return { ...idleUsage(name, backend), memoryLimitBytes: s?.memoryLimitBytes ?? 0 };
  }
  return {
    name,
    backend,
    state: "running",
    cpuNanos: s.cpuNanos,
    cpuPercent: cpu.sample(cpuKey, s.cpuNanos),
    memoryBytes: s.memoryBytes,
    memoryLimitBytes: s.memoryLimitBytes,
    pids: s.pids,
    blockReadBytes: s.blockReadBytes,
    blockWriteBytes: s.blockWriteBytes,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
  };
}
