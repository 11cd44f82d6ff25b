// usage(): one `containers.list` per sample, then cgroup and /proc file reads (the agent's shared
// readers). The init pid of each running container comes from an inspect that is cached and
// re-checked for free: the container's id is part of its own cgroup path, so a stale pid is
// noticed when /proc/<pid>/cgroup is read, which also gives the cgroup path itself.
import { readFile } from "node:fs/promises";
import type { ContainerUsage } from "@corral/wire";
import type Docker from "dockerode";
import { CgroupReader, CpuPercent, emptySample, readNetDev, type CgroupVersion } from "../../usage/cgroup.js";
import { idleUsage, usageFromCgroup } from "../../usage/container-usage.js";
import { runtimeState } from "./config.js";
import { LABEL_NAME, hostFilter } from "./runtime-names.js";
import { cgroupPathOf } from "../../process/container-processes.js";

export class UsageSampler {
  private readonly pids = new Map<string, number>();
  private readonly cpu = new CpuPercent();
  private readonly reader = new CgroupReader();
  private get version(): CgroupVersion {
    return this.reader.version;
  }

  constructor(
    private readonly docker: Docker,
    private readonly hostName: string,
  ) {}

  async sample(): Promise<ContainerUsage[]> {
    const list = await this.docker.listContainers({ all: true, filters: hostFilter(this.hostName) });
    const running = new Set(list.filter((c) => runtimeState(c.State) === "running").map((c) => c.Id));
    for (const id of this.pids.keys()) if (!running.has(id)) this.pids.delete(id);
    this.cpu.forgetExcept(running);
    const rels = new Set<string>();
    const rows = await Promise.all(list.map((c) => this.one(c, rels)));
    this.reader.retain(rels);
    return rows;
  }

  private async one(c: Docker.ContainerInfo, rels: Set<string>): Promise<ContainerUsage> {
    const name = c.Labels[LABEL_NAME] ?? c.Names[0]?.replace(/^\//, "") ?? c.Id;
    const state = runtimeState(c.State);
    if (state !== "running") return idleUsage(name, "docker", state);
    const located = await this.locate(c.Id);
    if (!located) return idleUsage(name, "docker", state);
    rels.add(located.rel);
    const s = emptySample();
    const found = this.reader.read(located.rel, s);
    const net = await readNetDev(located.pid);
    return usageFromCgroup(name, "docker", found ? s : undefined, this.cpu, c.Id, net);
  }

  /** The container's init pid and cgroup path, inspecting only when the cached pid is stale. */
  private async locate(id: string): Promise<{ pid: number; rel: string } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let pid = this.pids.get(id);
      if (pid === undefined || attempt > 0) {
        const info = await this.docker
          .getContainer(id)
          .inspect()
          .catch(() => undefined);
        pid = info?.State?.Pid ?? 0;
        if (!pid) break;
        this.pids.set(id, pid);
      }
      const text = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
      const rel = text.includes(id) ? cgroupPathOf(text, this.version) : undefined;
      if (rel !== undefined) return { pid, rel };
    }
    this.pids.delete(id);
    return undefined;
  }
}
