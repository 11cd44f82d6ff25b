// A synthetic cgroup tree under a directory, in the real files' formats (v1: one hierarchy per
// controller; v2: one unified directory), for the usage reader's tests and its bench.
import { mkdirSync, writeFileSync } from "node:fs";
import type { CgroupVersion } from "../usage/cgroup.js";

export interface SyntheticGroup {
  cpuNanos: number;
  memoryBytes: number;
  /** 0: no limit ("max" on v2, the huge page-aligned number on v1). */
  memoryLimitBytes: number;
  pids: number[];
  blockReadBytes: number;
  blockWriteBytes: number;
}

const V1_UNLIMITED = "9223372036854771712";

/** Writes (or rewrites) the group `rel` under `root` with the given figures. */
export function writeSyntheticGroup(root: string, version: CgroupVersion, rel: string, g: SyntheticGroup): void {
  const procs = g.pids.map((p) => `${p}\n`).join("");
  // Two devices, so the reader has to sum.
  const r1 = Math.floor(g.blockReadBytes / 2);
  const w1 = Math.floor(g.blockWriteBytes / 2);
  if (version === 2) {
    const d = `${root}/${rel}`;
    mkdirSync(d, { recursive: true });
    writeFileSync(`${d}/cpu.stat`, `usage_usec ${Math.floor(g.cpuNanos / 1000)}\nuser_usec 1\nsystem_usec 2\nnr_periods 0\n`);
    writeFileSync(`${d}/memory.current`, `${g.memoryBytes}\n`);
    writeFileSync(`${d}/memory.max`, g.memoryLimitBytes ? `${g.memoryLimitBytes}\n` : "max\n");
    writeFileSync(`${d}/pids.current`, `${g.pids.length}\n`);
    writeFileSync(
      `${d}/io.stat`,
      `8:0 rbytes=${r1} wbytes=${w1} rios=3 wios=4 dbytes=0 dios=0\n8:16 rbytes=${g.blockReadBytes - r1} wbytes=${g.blockWriteBytes - w1} rios=1 wios=1 dbytes=0 dios=0\n`,
    );
    writeFileSync(`${d}/cgroup.procs`, procs);
    return;
  }
  const dir = (ctrl: string): string => {
    const d = `${root}/${ctrl}/${rel}`;
    mkdirSync(d, { recursive: true });
    return d;
  };
  writeFileSync(`${dir("cpuacct")}/cpuacct.usage`, `${g.cpuNanos}\n`);
  const mem = dir("memory");
  writeFileSync(`${mem}/memory.usage_in_bytes`, `${g.memoryBytes}\n`);
  writeFileSync(`${mem}/memory.limit_in_bytes`, g.memoryLimitBytes ? `${g.memoryLimitBytes}\n` : `${V1_UNLIMITED}\n`);
  writeFileSync(`${mem}/cgroup.procs`, procs);
  writeFileSync(`${dir("pids")}/pids.current`, `${g.pids.length}\n`);
  const dev = (d: string, r: number, w: number): string =>
    `${d} Read ${r}\n${d} Write ${w}\n${d} Sync ${r + w}\n${d} Async 0\n${d} Discard 0\n${d} Total ${r + w}\n`;
  writeFileSync(`${dir("blkio")}/blkio.throttle.io_service_bytes`, `${dev("8:0", r1, w1)}${dev("8:16", g.blockReadBytes - r1, g.blockWriteBytes - w1)}Total ${g.blockReadBytes + g.blockWriteBytes}\n`);
}

/** The figures of container `i` of a synthetic tree: distinct per container, so a mix-up shows. */
export function syntheticGroup(i: number): SyntheticGroup {
  return {
    cpuNanos: 1_000_000_000 * (i + 1) + 7_000,
    memoryBytes: 4096 * (1000 + i),
    memoryLimitBytes: i % 3 === 0 ? 0 : 268_435_456,
    pids: [100_000 + i * 3, 100_001 + i * 3, 100_002 + i * 3],
    blockReadBytes: 1_000 + i,
    blockWriteBytes: 2_000 + i,
  };
}

/** `count` containers at corral/<host>/ct<i>; returns their relative paths. */
export function writeSyntheticTree(root: string, version: CgroupVersion, count: number, host = "host1"): string[] {
  const rels: string[] = [];
  for (let i = 0; i < count; i++) {
    const rel = `corral/${host}/ct${i}`;
    writeSyntheticGroup(root, version, rel, syntheticGroup(i));
    rels.push(rel);
  }
  return rels;
}
