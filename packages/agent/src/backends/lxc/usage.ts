// Usage of LXC containers from their fixed cgroup directories (corral/<host>/<name>): files only.
import type { ContainerUsage } from "@corral/wire";
import { CgroupReader, CpuPercent, emptySample, readNetDev } from "../../usage/cgroup.js";
import { usageFromCgroup } from "../../usage/container-usage.js";
import { cgroupDir } from "./config.js";

export class LxcUsage {
  private readonly reader = new CgroupReader();
  private readonly cpu = new CpuPercent();

  constructor(private readonly hostName: string) {}

  async sample(names: string[]): Promise<ContainerUsage[]> {
    this.cpu.forgetExcept(new Set(names));
    const rels = names.map((name) => cgroupDir(this.hostName, name));
    this.reader.retain(new Set(rels));
    return Promise.all(
      names.map(async (name, i) => {
        const s = emptySample();
        const found = this.reader.read(rels[i] as string, s);
        const net = found && s.pids > 0 ? await readNetDev(s.firstPid) : undefined;
        return usageFromCgroup(name, "lxc", found ? s : undefined, this.cpu, name, net);
      }),
    );
  }
}
