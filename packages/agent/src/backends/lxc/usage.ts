// Usage of LXC containers from their fixed cgroup directories (corral/<host>/<name>): files only.
import type { ContainerUsage } from "@corral/wire";
import { CpuPercent, detectCgroupVersion, readCgroup, readNetDev } from "../../usage/cgroup.js";
import { usageFromCgroup } from "../../usage/container-usage.js";
import { cgroupDir } from "./config.js";

export class LxcUsage {
  private readonly version = detectCgroupVersion();
  private readonly cpu = new CpuPercent();

  constructor(private readonly hostName: string) {}

  async sample(names: string[]): Promise<ContainerUsage[]> {
    this.cpu.forgetExcept(new Set(names));
    return Promise.all(
      names.map(async (name) => {
        const s = await readCgroup(cgroupDir(this.hostName, name), this.version);
        const net = s && s.pids > 0 ? await readNetDev(s.firstPid) : undefined;
        return usageFromCgroup(name, "lxc", s, this.cpu, name, net);
      }),
    );
  }
}
