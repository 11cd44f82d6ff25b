import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, rmdirSync, existsSync } from "node:fs";
import { CpuPercent, detectCgroupVersion, readCgroup, readNetDev } from "./cgroup.js";

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
