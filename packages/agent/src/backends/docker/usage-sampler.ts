// usage(): one `containers.list` per sample, then file reads. The init pid of each running
// container comes from an inspect that is cached and re-checked for free: the container's id
// appears in its own cgroup path, so a reused or stale pid is noticed when /proc/<pid>/cgroup is read.
import { readFile } from "node:fs/promises";
import type { ContainerUsage } from "@corral/wire";
import type Docker from "dockerode";
import { parseProcCgroup, readCgroupSample } from "./cgroup-usage.js";
import { runtimeState } from "./container-config.js";
import { LABEL_NAME, hostFilter } from "./runtime-names.js";

interface CpuMark {
  cpuNanos: number;
  atNs: bigint;
}

export class UsageSampler {
  private readonly pids = new Map<string, number>();
  private readonly lastCpu = new Map<string, CpuMark>();

  constructor(
    private readonly docker: Docker,
    private readonly hostName: string,
  ) {}

  async sample(): Promise<ContainerUsage[]> {
    const list = await this.docker.listContainers({ all: true, filters: hostFilter(this.hostName) });
    const seen = new Set(list.map((c) => c.Id));
    for (const id of this.pids.keys()) if (!seen.has(id)) this.pids.delete(id);
    for (const id of this.lastCpu.keys()) if (!seen.has(id)) this.lastCpu.delete(id);
    return Promise.all(list.map((c) => this.one(c)));
  }

  private async one(c: Docker.ContainerInfo): Promise<ContainerUsage> {
    const name = c.Labels[LABEL_NAME] ?? c.Names[0]?.replace(/^\//, "") ?? c.Id;
    const state = runtimeState(c.State);
    const zero: ContainerUsage = {
      name,
      backend: "docker",
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
    if (state !== "running") {
      this.lastCpu.delete(c.Id);
      return zero;
    }
    const located = await this.locate(c.Id);
    if (!located) return zero;
    const s = await readCgroupSample(located.pid, located.paths);
    return { ...zero, ...s, cpuPercent: this.cpuPercent(c.Id, s.cpuNanos) };
  }

  /** The container's init pid and cgroup paths, inspecting only when the cached pid is stale. */
  private async locate(id: string): Promise<{ pid: number; paths: Map<string, string> } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let pid = this.pids.get(id);
      if (pid === undefined || attempt > 0) {
        const info = await this.docker
          .getContainer(id)
          .inspect()
          .catch(() => undefined);
        pid = info?.State?.Pid ?? 0;
        if (!pid) return undefined;
        this.pids.set(id, pid);
      }
      const text = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
      if (text.includes(id)) return { pid, paths: parseProcCgroup(text) };
    }
    this.pids.delete(id);
    return undefined;
  }

  /** Percent of one CPU since the previous sample (200 = two CPUs busy), as `docker stats` shows it. */
  private cpuPercent(id: string, cpuNanos: number): number {
    const now = process.hrtime.bigint();
    const prev = this.lastCpu.get(id);
    this.lastCpu.set(id, { cpuNanos, atNs: now });
    if (!prev || cpuNanos < prev.cpuNanos) return 0;
    const wall = Number(now - prev.atNs);
    return wall > 0 ? Math.round(((cpuNanos - prev.cpuNanos) / wall) * 10000) / 100 : 0;
  }
}
