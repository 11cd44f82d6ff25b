import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync, rmdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupReader, CpuPercent, detectCgroupVersion, emptySample, readCgroup, readNetDev, sumNetDev } from "./cgroup.js";
import { syntheticGroup, writeSyntheticGroup, writeSyntheticTree } from "../test-support/cgroup-tree.js";

// Uses this machine's real cgroup hierarchy: makes a group, puts this process in it, reads it back.
const version = detectCgroupVersion();
const rel = `corral-test/usage-${process.pid}`;

test("reads memory, cpu, pids and limits of a real cgroup", { skip: version !== 1 && "needs cgroup v1 here" }, async () => {
  const ctrls = ["memory", "cpuacct", "pids", "blkio"];
  for (const c of ctrls) mkdirSync(`/sys/fs/cgroup/${c}/${rel}`, { recursive: true });
  writeFileSync(`/sys/fs/cgroup/memory/${rel}/memory.limit_in_bytes`, String(512 * 1024 * 1024));
  const { spawn } = await import("node:child_process");
  // v1 charges memory to the group a process is in when it allocates: do the work only after the move.
  const child = spawn("sh", ["-c", "sleep 0.3; dd if=/dev/zero of=/dev/null bs=16M count=8 2>/dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 5"]);
  try {
    for (const c of ctrls) writeFileSync(`/sys/fs/cgroup/${c}/${rel}/cgroup.procs`, String(child.pid));
    await new Promise((r) => setTimeout(r, 1500));
    const s = await readCgroup(rel, 1);
    assert.ok(s);
    assert.equal(s.memoryLimitBytes, 512 * 1024 * 1024);
    assert.ok(s.memoryBytes > 0);
    assert.ok(s.cpuNanos > 0);
    assert.ok(s.pids >= 1);
    assert.equal(s.firstPid, child.pid);
    const net = await readNetDev(s.firstPid);
    assert.ok(net.rx >= 0 && net.tx >= 0);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    for (const c of ctrls) {
      const d = `/sys/fs/cgroup/${c}/${rel}`;
      if (existsSync(d)) rmdirSync(d);
      try {
        rmdirSync(`/sys/fs/cgroup/${c}/corral-test`);
      } catch {
        // Another test process (another worktree, run at the same time) still has its group in it.
      }
    }
  }
});

test("a missing cgroup reads as not running", async () => {
  assert.equal(await readCgroup("corral/no-such-host/no-such-ct", version), undefined);
});

test("cpu percent is the share of one core between two samples", () => {
  const p = new CpuPercent();
  assert.equal(p.sample("a", 0, 0n), 0);
  assert.equal(p.sample("a", 500_000_000, 1_000_000_000n), 50);
  assert.equal(p.sample("a", 2_500_000_000, 2_000_000_000n), 200);
});

for (const v of [1, 2] as const) {
  test(`a kept-open reader reads every group of a synthetic v${v} tree, sees files rewritten in place`, () => {
    const root = mkdtempSync(join(tmpdir(), `corral-cgroup-v${v}-`));
    const reader = new CgroupReader(v, root);
    try {
      const rels = writeSyntheticTree(root, v, 5);
      const out = emptySample();
      for (let round = 0; round < 2; round++) {
        rels.forEach((rel, i) => {
          const g = syntheticGroup(i);
          assert.equal(reader.read(rel, out), true, rel);
          assert.deepEqual(out, {
            cpuNanos: v === 2 ? Math.floor(g.cpuNanos / 1000) * 1000 : g.cpuNanos,
            memoryBytes: g.memoryBytes,
            memoryLimitBytes: g.memoryLimitBytes,
            pids: 3,
            blockReadBytes: g.blockReadBytes,
            blockWriteBytes: g.blockWriteBytes,
            firstPid: g.pids[0],
          });
        });
      }
      assert.equal(reader.openGroups, 5);
      // A file rewritten in place is read again from offset 0, longer or shorter than before.
      writeSyntheticGroup(root, v, rels[1] as string, { ...syntheticGroup(1), memoryBytes: 7, pids: [42] });
      assert.equal(reader.read(rels[1] as string, out), true);
      assert.equal(out.memoryBytes, 7);
      assert.equal(out.firstPid, 42);
      reader.retain(new Set([rels[0] as string]));
      assert.equal(reader.openGroups, 1);
      assert.equal(reader.read("corral/host1/none", out), false);
    } finally {
      reader.closeAll();
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test("/proc/net/dev sums every interface but lo", () => {
  const text = [
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    "    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0",
    "  eth0:    1500      12    0    0    0     0          0         0      700       7    0    0    0     0       0          0",
    "  veth1:     10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0",
    "",
  ].join("\n");
  const buf = new Uint8Array(Buffer.from(text));
  assert.deepEqual(sumNetDev(buf, buf.length), { rx: 1510, tx: 720 });
});

test("a kept-open reader sees a real cgroup removed, and made again, as a restart does", { skip: version !== 1 && "needs cgroup v1 here" }, () => {
  const ctrls = ["memory", "cpuacct", "pids", "blkio"];
  const relR = `corral-test/reopen-${process.pid}`;
  const make = (limit: number): void => {
    for (const c of ctrls) mkdirSync(`/sys/fs/cgroup/${c}/${relR}`, { recursive: true });
    writeFileSync(`/sys/fs/cgroup/memory/${relR}/memory.limit_in_bytes`, String(limit));
  };
  const remove = (): void => {
    for (const c of ctrls) if (existsSync(`/sys/fs/cgroup/${c}/${relR}`)) rmdirSync(`/sys/fs/cgroup/${c}/${relR}`);
  };
  const removeParent = (): void => {
    for (const c of ctrls) {
      try {
        rmdirSync(`/sys/fs/cgroup/${c}/corral-test`);
      } catch {
        // Another test process still has its group in it.
      }
    }
  };
  const reader = new CgroupReader(1);
  const out = emptySample();
  try {
    make(64 * 1024 * 1024);
    assert.equal(reader.read(relR, out), true);
    assert.equal(out.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(out.pids, 0);
    remove();
    assert.equal(reader.read(relR, out), false);
    make(32 * 1024 * 1024);
    assert.equal(reader.read(relR, out), true);
    assert.equal(out.memoryLimitBytes, 32 * 1024 * 1024);
  } finally {
    reader.closeAll();
    remove();
    removeParent();
  }
});
