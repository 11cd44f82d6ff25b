// Create+start latency, Corral against the runtime called directly: the two sides alternate
// (and swap which goes first each round) so that drift on this 2-core machine hits both alike.
import type { Report } from "./report.js";
import { list, median, ms, ratio } from "./stats.js";

export interface Side {
  label: string;
  /** Creates and starts container number k; returns the milliseconds to count. */
  run(k: number): Promise<number>;
  /** Removes container k (not timed). */
  cleanup(k: number): Promise<void>;
}

export const WARMUPS = 1;

export async function interleave(backend: string, corral: Side, direct: Side, n: number, report: Report): Promise<void> {
  const times = { corral: [] as number[], direct: [] as number[] };
  for (let k = 0; k < n + WARMUPS; k++) {
    const order: ["corral" | "direct", Side][] = k % 2 ? [["direct", direct], ["corral", corral]] : [["corral", corral], ["direct", direct]];
    for (const [key, side] of order) {
      const t = await side.run(k);
      await side.cleanup(k);
      if (k >= WARMUPS) times[key].push(t);
    }
  }
  const mc = median(times.corral);
  const md = median(times.direct);
  console.log(`  ${corral.label.padEnd(64)} median ${ms(mc).padStart(8)}  ${list(times.corral)}`);
  console.log(`  ${direct.label.padEnd(64)} median ${ms(md).padStart(8)}  ${list(times.direct)}`);
  console.log(`  ratio corral/direct ${ratio(mc, md)} (goal ≤ 1.20×), ${n} iterations each after ${WARMUPS} warm-up, interleaved`);
  report.add({ metric: `create+start ${backend} (median of ${n})`, corral: ms(mc), baseline: `${ms(md)} direct`, ratio: ratio(mc, md) });
}
