import { test } from "node:test";
import assert from "node:assert/strict";
import { LXCFS_INCLUDE, LxcConfig, setCgroupDirs } from "./config.js";

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
