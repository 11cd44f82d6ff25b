// The agent's Prometheus metrics: per-container CPU seconds, memory, pids, network and block
// bytes, read fresh from the backends when scraped (the same collectUsage the controller's
// stream uses, so the two never disagree). Names follow cAdvisor's, under `corral_`, with base
// units in the name and `_total` on counters.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { ContainerUsage, UsageReport } from "@corral/wire";

type Read = (u: ContainerUsage) => number;

const SERIES: { name: string; help: string; kind: "counter" | "gauge"; read: Read }[] = [
  { name: "corral_container_cpu_usage_seconds_total", help: "CPU time the container has used", kind: "counter", read: (u) => u.cpuNanos / 1e9 },
  { name: "corral_container_memory_usage_bytes", help: "Memory the container uses now", kind: "gauge", read: (u) => u.memoryBytes },
  { name: "corral_container_memory_limit_bytes", help: "The container's memory limit (0: none)", kind: "gauge", read: (u) => u.memoryLimitBytes },
  { name: "corral_container_pids", help: "Processes and threads in the container", kind: "gauge", read: (u) => u.pids },
  { name: "corral_container_network_receive_bytes_total", help: "Bytes the container has received", kind: "counter", read: (u) => u.netRxBytes },
  { name: "corral_container_network_transmit_bytes_total", help: "Bytes the container has sent", kind: "counter", read: (u) => u.netTxBytes },
  { name: "corral_container_blkio_read_bytes_total", help: "Bytes the container has read from block devices", kind: "counter", read: (u) => u.blockReadBytes },
  { name: "corral_container_blkio_write_bytes_total", help: "Bytes the container has written to block devices", kind: "counter", read: (u) => u.blockWriteBytes },
];

const LABELS = ["container", "backend", "host"] as const;

export class AgentMetrics {
  readonly registry = new Registry();

  /** `sample` reads every container's usage now (collectUsage). */
  constructor(sample: () => Promise<UsageReport>) {
    collectDefaultMetrics({ register: this.registry });
    // One sample serves every series of one scrape: prom-client collects them one after another.
    let pending: Promise<UsageReport> | undefined;
    const current = () => {
      pending ??= sample().finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    new Gauge({
      name: "corral_containers",
      help: "Containers the agent's backends report, running or not",
      registers: [this.registry],
      async collect() {
        this.set((await current()).containers.length);
      },
    });
    for (const s of SERIES) {
      const fill = async (m: Gauge | Counter) => {
        const report = await current();
        m.reset();
        for (const u of report.containers) {
          if (u.state !== "running") continue; // a stopped container's counters are gone
          const labels = { container: u.name, backend: u.backend, host: report.host };
          if (m instanceof Gauge) m.set(labels, s.read(u));
          else m.inc(labels, s.read(u));
        }
      };
      const common = { name: s.name, help: s.help, labelNames: LABELS, registers: [this.registry] };
      if (s.kind === "gauge") new Gauge({ ...common, async collect() { await fill(this); } });
      else new Counter({ ...common, async collect() { await fill(this); } });
    }
  }
}
