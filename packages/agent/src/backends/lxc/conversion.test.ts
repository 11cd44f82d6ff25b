import { test } from "node:test";
import assert from "node:assert/strict";
import { planLxcToLxd } from "./conversion.js";

test("an LXC config to LXD: limits, hostname, network and id map carry; host paths are neither; other keys are named as dropped", () => {
  const config = [
    "lxc.include = /usr/share/lxc/config/common.conf",
    "lxc.arch = x86_64",
    "lxc.rootfs.path = dir:/var/lib/corral/lxc/web/rootfs",
    "lxc.uts.name = web",
    "lxc.idmap = u 0 100000 65536",
    "lxc.idmap = g 0 100000 65536",
    "lxc.net.0.type = veth",
    "lxc.net.0.link = corral0",
    "lxc.apparmor.profile = unconfined",
    "lxc.cgroup.dir.container = corral/host1/web",
    "lxc.cgroup.memory.limit_in_bytes = 134217728",
    "lxc.cgroup.memory.memsw.limit_in_bytes = 134217728",
    "lxc.cgroup.cpu.cfs_period_us = 100000",
    "lxc.cgroup.cpu.cfs_quota_us = 50000",
    "lxc.signal.halt = SIGUSR1",
    "",
  ].join("\n");
  const plan = planLxcToLxd(config);
  assert.deepEqual([plan.sourceBackend, plan.targetBackend], ["lxc", "lxd"]);
  assert.deepEqual(plan.carried, [
    { key: "lxc.cgroup.memory.limit_in_bytes", detail: "limits.memory=134217728" },
    { key: "lxc.cgroup.cpu.cfs_quota_us", detail: "limits.cpu=1, limits.cpu.allowance=50ms/100ms" },
    { key: "lxc.uts.name", detail: "hostname web (in the rootfs's /etc/hostname)" },
    { key: "lxc.net.0", detail: "eth0 bridged on the target's container network, with the container's address" },
    { key: "lxc.idmap", detail: "unprivileged under LXD's own id map (owners shifted back, then mapped by LXD)" },
  ]);
  assert.deepEqual(plan.dropped.map((d) => d.key), ["lxc.cgroup.memory.memsw.limit_in_bytes", "lxc.signal.halt"]);
  assert.match(plan.dropped[1]!.detail, /LXD stops the container with its own signal/);
});
