// Every bench merges its figures into bench-results.json at the repository root: read, merge the
// keys of its own section, write. The file is git-ignored. Each section records the load average
// at the time of writing: on a shared machine a figure means little without it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";

export const BENCH_RESULTS = fileURLToPath(new URL("../../../bench-results.json", import.meta.url));

export function mergeResults(section: string, figures: Record<string, unknown>): void {
  let all: Record<string, unknown> = {};
  if (existsSync(BENCH_RESULTS)) {
    try {
      all = JSON.parse(readFileSync(BENCH_RESULTS, "utf8")) as Record<string, unknown>;
    } catch {
      all = {}; // a half-written file from an interrupted run is replaced
    }
  }
  const prev = (all[section] ?? {}) as Record<string, unknown>;
  all[section] = { ...prev, ...figures, loadAverage: loadavg().map((l) => Number(l.toFixed(2))), at: new Date().toISOString() };
  writeFileSync(BENCH_RESULTS, `${JSON.stringify(all, null, 2)}\n`);
}

/** "load average 1.52 1.55 1.67" (1, 5 and 15 minutes): printed beside every figure a bench shows. */
export const loadAverage = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`;
