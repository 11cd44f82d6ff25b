// The agent's CPU cost of one usage sample a second for 1,000 containers, as a share of one core, on
// synthetic cgroup v1 and v2 trees under a temp dir (tmpfs): the old reader (open/read/close per file, kept
// in legacy-cgroup-reader.ts as the baseline) against CgroupReader (files kept open, re-read from
// offset 0 into one buffer). Figures only; merged into bench-results.json as usage.*.
//   npm run bench:usage [-- --containers N --samples S]
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupReader, emptySample, writeSyntheticTree, type CgroupSample } from "@corral/agent/test-support";
import { mergeResults } from "./bench-results.js";
import { legacyReadCgroup } from "./legacy-cgroup-reader.js";
import type { Report } from "./report.js";
import { table } from "./stats.js";

// cgroupfs lives in memory: the synthetic tree goes on tmpfs where there is one (a disk filesystem's
// reads cost half as much again here, which would measure the disk's path, not the reader).
const TREE_PARENT = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

/**
 * CPU seconds (user + system) of this process spent in `fn`, per call, after one warm-up call: the
 * least of `rounds` rounds, as timeit does, since other work on this 2-core machine only ever adds.
 */
async function cpuPerCall(rounds: number, samples: number, fn: () => Promise<void> | void): Promise<number> {
  await fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < samples; i++) await fn();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / 1e6 / samples);
  }
  return best;
}

export interface UsageFigures {
  v1: { legacy: number; reader: number };
  v2: { legacy: number; reader: number };
}

export async function benchUsageSampling(containers = 1000, samples = 10, report?: Report): Promise<UsageFigures> {
  const figures = {} as UsageFigures;
  for (const version of [1, 2] as const) {
    const root = mkdtempSync(join(TREE_PARENT, `corral-bench-usage-v${version}-`));
    try {
      const rels = writeSyntheticTree(root, version, containers);
      // The old reader, as the agent ran it: every container at once, awaited together.
      const legacy = await cpuPerCall(3, 1, async () => {
        const rows = await Promise.all(rels.map((rel) => legacyReadCgroup(rel, version, root)));
        if (rows.some((r) => !r)) throw new Error("legacy reader missed a group");
      });
      const reader = new CgroupReader(version, root);
      const outs: CgroupSample[] = rels.map(() => emptySample());
      const fresh = await cpuPerCall(5, samples, () => {
        for (let i = 0; i < rels.length; i++) if (!reader.read(rels[i] as string, outs[i] as CgroupSample)) throw new Error("reader missed a group");
      });
      reader.closeAll();
      figures[`v${version}`] = { legacy, reader: fresh };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  const share = (s: number): string => s.toFixed(4);
  console.log(`\n== usage sampling: CPU share of one core at 1 sample/s, ${containers} containers (synthetic cgroup trees) ==`);
  console.log(
    table(
      ["tree", "old reader (baseline)", "CgroupReader", "ratio"],
      (["v1", "v2"] as const).map((v) => [v, share(figures[v].legacy), share(figures[v].reader), `${(figures[v].legacy / figures[v].reader).toFixed(1)}x`]),
    ),
  );
  const worst = Math.max(figures.v1.reader, figures.v2.reader);
  const worstLegacy = Math.max(figures.v1.legacy, figures.v2.legacy);
  report?.add({ metric: `usage sample, ${containers} containers (core share)`, corral: share(worst), baseline: share(worstLegacy), ratio: `${(worstLegacy / worst).toFixed(1)}x` });
  if (containers === 1000) {
    mergeResults("usage", {
      samplingCpuShare1000: worst,
      samplingCpuShare1000V1: figures.v1.reader,
      samplingCpuShare1000V2: figures.v2.reader,
      baselineCpuShare1000V1: figures.v1.legacy,
      baselineCpuShare1000V2: figures.v2.legacy,
    });
  }
  return figures;
}
