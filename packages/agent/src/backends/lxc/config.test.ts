import { test } from "node:test";
import assert from "node:assert/strict";
import { cgroupLimitFiles, LXCFS_INCLUDE, LxcConfig, setCgroupDirs } from "./config.js";

const SOURCE = `lxc.rootfs.path = dir:/var/lib/corral-local/hosts/host1/lxc/web/rootfs
lxc.uts.name = "web"
lxc.mount.entry = /lib lib none ro,bind 0 0
lxc.log.file = /var/lib/corral-local/hosts/host1/lxc/web/web.log
# lxc.rootfs.path = /var/lib/corral-local/hosts/host1/lxc/web/comment
lxc.cgroup.memory.limit_in_bytes = 268435456
lxc.cgroup.cpu.cfs_period_us = 100000
lxc.cgroup.cpu.cfs_quota_us = 150000
`;

test("limits are read from and written to lxc.cgroup.* keys", () => {
  const cfg = new LxcConfig(SOURCE);
  assert.deepEqual(cfg.limits(), { memoryBytes: 268435456, cpus: 1.5 });
  cfg.setLimits({ memoryBytes: 64 << 20, cpus: 0 });
  assert.deepEqual(cfg.limits(), { memoryBytes: 64 << 20, cpus: 0 });
  assert.doesNotMatch(cfg.toString(), /cfs_quota_us/);
});

test("swap, cpu shares and pids as cgroup v1 and v2 keys read back the same", () => {
  const MiB = 1024 * 1024;
  const limits = { memoryBytes: 96 * MiB, cpus: 0.5, swapBytes: 32 * MiB, cpuShares: 512, pidsMax: 100 };
  const v1 = new LxcConfig(SOURCE).setLimits(limits, 1);
  assert.equal(v1.get("lxc.cgroup.memory.memsw.limit_in_bytes"), String(128 * MiB));
  assert.equal(v1.get("lxc.cgroup.cpu.shares"), "512");
  assert.equal(v1.get("lxc.cgroup.pids.max"), "100");
  assert.deepEqual(v1.limits(), limits);
  const v2 = new LxcConfig(SOURCE).setLimits(limits, 2);
  assert.equal(v2.get("lxc.cgroup.memory.limit_in_bytes"), undefined, "no v1 keys on a v2 host");
  assert.equal(v2.get("lxc.cgroup2.memory.swap.max"), String(32 * MiB));
  assert.equal(v2.get("lxc.cgroup2.cpu.max"), "50000 100000");
  assert.equal(v2.get("lxc.cgroup2.cpu.weight"), "20");
  assert.equal(v2.get("lxc.cgroup2.pids.max"), "100");
  assert.deepEqual({ ...v2.limits(), cpuShares: 512 }, limits, "cpu.weight maps back to about the same shares");
  // Lifting leaves no key behind.
  assert.deepEqual(v1.setLimits({ memoryBytes: 0, cpus: 0 }).limits(), { memoryBytes: 0, cpus: 0 });
  assert.doesNotMatch(v1.toString(), /lxc\.cgroup\.(pids|cpu\.shares|memory)/);
});

test("a live v1 update lifts memsw before the memory limit and sets it after, and writes lifted limits", () => {
  const files = cgroupLimitFiles({ memoryBytes: 64 << 20, cpus: 0, swapBytes: 16 << 20 }, 1);
  assert.deepEqual(files.slice(0, 3).map((f) => [f.file, f.value]), [
    ["memory.memsw.limit_in_bytes", "-1"],
    ["memory.limit_in_bytes", String(64 << 20)],
    ["memory.memsw.limit_in_bytes", String(80 << 20)],
  ]);
  assert.deepEqual(files.find((f) => f.file === "pids.max"), { file: "pids.max", value: "max", limited: false });
  assert.deepEqual(files.find((f) => f.file === "cpu.cfs_quota_us"), { file: "cpu.cfs_quota_us", value: "-1", limited: false });
});

test("a migrated config points at the target's lxcpath and cgroup, comments untouched", () => {
  const cfg = new LxcConfig(SOURCE);
  cfg.replaceInValues("/var/lib/corral-local/hosts/host1/lxc/web", "/srv/host2/lxc/web");
  setCgroupDirs(cfg, "host2", "web");
  const text = cfg.toString();
  assert.equal(cfg.get("lxc.rootfs.path"), "dir:/srv/host2/lxc/web/rootfs");
  assert.equal(cfg.get("lxc.log.file"), "/srv/host2/lxc/web/web.log");
  assert.equal(cfg.get("lxc.cgroup.dir.container"), "corral/host2/web");
  assert.equal(cfg.get("lxc.cgroup.dir.monitor.pivot"), "corral/host2/pivot");
  assert.match(text, /# lxc.rootfs.path = \/var\/lib\/corral-local\/hosts\/host1/);
  assert.equal(cfg.get("lxc.mount.entry"), "/lib lib none ro,bind 0 0");
});

test("lxcfs's include is added once beside the template's own, and an archive may carry it", async () => {
  const cfg = new LxcConfig("lxc.include = /usr/share/lxc/config/common.conf\nlxc.uts.name = c1\n");
  cfg.add("lxc.include", LXCFS_INCLUDE).add("lxc.include", LXCFS_INCLUDE);
  const includes = cfg.toString().split("\n").filter((l) => l.startsWith("lxc.include"));
  assert.deepEqual(includes, ["lxc.include = /usr/share/lxc/config/common.conf", `lxc.include = ${LXCFS_INCLUDE}`]);
  const { checkLxcConfig } = await import("./config-policy.js");
  checkLxcConfig(`lxc.include = ${LXCFS_INCLUDE}\n`, "c1");
  assert.throws(() => checkLxcConfig("lxc.include = /usr/share/lxc/config/nesting.conf\n", "c1"), /lxc\.include/);
});
