// The controller's Prometheus metrics. Counts of hosts, containers and migrations are read from
// SQLite when scraped, so they are right after a restart and never drift from the state; only
// placement latency is observed as it happens. Names follow Prometheus conventions: the
// `corral_` prefix, base units in the name, `_total` on counters.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Db } from "../store/store.js";

export const HOST_STATES = ["ready", "cordoned", "draining", "down"] as const;
export const CONTAINER_STATES = ["creating", "running", "stopped", "migrating", "unknown", "error"] as const;
/** A finished migration's outcome: done → succeeded; rolled_back. */
export const MIGRATION_OUTCOMES = ["succeeded", "rolled_back"] as const;

const MiB = 1024 * 1024;

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly placement: Histogram;
  private readonly reportLatency: Histogram;
  /** Report → state in microseconds, exact percentiles (the bench reads them; Prometheus has buckets). */
  readonly reportToStateUs: RecordableHistogram = createHistogram();

  constructor(db: () => Db) {
    collectDefaultMetrics({ register: this.registry });
    const countBy = (sql: string): Map<string, number> =>
      new Map((db().prepare(sql).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]));

    new Gauge({
      name: "corral_hosts",
      help: "Hosts known to the controller, by state",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const by = countBy("SELECT state AS k, count(*) AS n FROM hosts GROUP BY state");
        for (const s of new Set([...HOST_STATES, ...by.keys()])) this.set({ state: s }, by.get(s) ?? 0);
      },
    });
    new Gauge({
      name: "corral_containers",
      help: "Containers managed by the controller, by actual state",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const by = countBy("SELECT actual_state AS k, count(*) AS n FROM containers GROUP BY actual_state");
        for (const s of new Set([...CONTAINER_STATES, ...by.keys()])) this.set({ state: s }, by.get(s) ?? 0);
      },
    });
    const finished = () =>
      db()
        .prepare("SELECT phase, bytes, downtime_ms AS downtimeMs FROM migrations WHERE phase IN ('done', 'rolled_back')")
        .all() as { phase: string; bytes: number; downtimeMs: number | null }[];
    new Counter({
      name: "corral_migrations_total",
      help: "Finished migrations, by outcome (succeeded, rolled_back)",
      labelNames: ["outcome"],
      registers: [this.registry],
      collect() {
        const rows = finished();
        this.reset();
        for (const o of MIGRATION_OUTCOMES) this.inc({ outcome: o }, 0);
        for (const r of rows) this.inc({ outcome: r.phase === "done" ? "succeeded" : "rolled_back" });
      },
    });
    new Histogram({
      name: "corral_migration_bytes",
      help: "Bytes of container state moved by each successful migration",
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536].map((n) => n * MiB),
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of finished()) if (r.phase === "done") this.observe(r.bytes);
      },
    });
    new Histogram({
      name: "corral_migration_downtime_seconds",
      help: "Time each successful migration's container was not running, from stop on the source to start on the target",
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of finished()) if (r.phase === "done" && r.downtimeMs !== null) this.observe(r.downtimeMs / 1000);
      },
    });
    this.placement = new Histogram({
      name: "corral_placement_duration_seconds",
      help: "Time the scheduler took to place a container (filters and scorers over every host)",
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    });
    this.reportLatency = new Histogram({
      name: "corral_report_to_state_seconds",
      help: "Time from the controller decoding a usage report off its connection to its state holding it",
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    });
  }

  /** A report decoded at `receivedAt` (performance.now()) is now in the state. */
  reportApplied(receivedAt: number): void {
    const ms = performance.now() - receivedAt;
    this.reportToStateUs.record(Math.max(1, Math.round(ms * 1000)));
    this.reportLatency.observe(ms / 1000);
  }

  /** Runs a placement and records how long it took, whether it placed or refused. */
  /** Times a placement; a promise (placement plus its group commit) is timed until it settles. */
  timePlacement<T>(place: () => T): T {
    const end = this.placement.startTimer();
    let out: T;
    try {
      out = place();
    } catch (err) {
      end();
      throw err;
    }
    if (out instanceof Promise) return out.finally(() => end()) as T;
    end();
    return out;
  }

}
