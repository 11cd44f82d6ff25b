// Usage from LXD's own instance state: one GET /1.0/instances?recursion=2 per sample for all
// containers. LXD reports no block I/O for containers, so those stay 0.
import type { ContainerUsage } from "@corral/wire";
import { CpuPercent } from "../../usage/cgroup.js";
import { type LxdInstance, limitsFromConfig, runtimeState } from "./config.js";

export class UsageSampler {
  /** CPU % between two samples, per runtime name, on the monotonic clock as every backend's. */
  private readonly cpu = new CpuPercent();

  sample(owned: { name: string; inst: LxdInstance }[], now = process.hrtime.bigint()): ContainerUsage[] {
    this.cpu.forgetExcept(new Set(owned.map(({ inst }) => inst.name)));
    return owned.map(({ name, inst }) => {
      const st = inst.state;
      const cpuNanos = st?.cpu.usage ?? 0;
      const cpuPercent = this.cpu.sample(inst.name, cpuNanos, now);
      let rx = 0;
      let tx = 0;
      for (const nic of Object.values(st?.network ?? {})) {
        if (nic.type === "loopback") continue;
        rx += nic.counters.bytes_received;
        tx += nic.counters.bytes_sent;
      }
      const usage: ContainerUsage = {
        name,
        backend: "lxd",
        state: runtimeState(st?.status ?? inst.status),
        cpuNanos,
        cpuPercent,
        memoryBytes: st?.memory.usage ?? 0,
        memoryLimitBytes: limitsFromConfig(inst.config).memoryBytes,
        pids: st?.processes ?? 0,
        blockReadBytes: 0,
        blockWriteBytes: 0,
        netRxBytes: rx,
        netTxBytes: tx,
      };
      return usage;
    });
  }
}
