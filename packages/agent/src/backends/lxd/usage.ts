// Usage from LXD's own instance state: one GET /1.0/instances?recursion=2 per sample for all
// containers. LXD reports no block I/O for containers, so those stay 0.
import type { ContainerUsage } from "@corral/wire";
import { type LxdInstance, limitsFromConfig, runtimeState } from "./config.js";

export class UsageSampler {
  /** Last CPU sample per runtime name, for CPU % between two samples. */
  private readonly last = new Map<string, { cpuNanos: number; atMs: number }>();

  sample(owned: { name: string; inst: LxdInstance }[], nowMs: number): ContainerUsage[] {
    const seen = new Set<string>();
    const out = owned.map(({ name, inst }) => {
      seen.add(inst.name);
      const st = inst.state;
      const cpuNanos = st?.cpu.usage ?? 0;
      const prev = this.last.get(inst.name);
      this.last.set(inst.name, { cpuNanos, atMs: nowMs });
      const wallNs = prev ? (nowMs - prev.atMs) * 1e6 : 0;
      const cpuPercent = prev && wallNs > 0 && cpuNanos >= prev.cpuNanos ? ((cpuNanos - prev.cpuNanos) / wallNs) * 100 : 0;
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
    for (const key of this.last.keys()) if (!seen.has(key)) this.last.delete(key);
    return out;
  }
}
