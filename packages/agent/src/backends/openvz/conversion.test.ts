import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { planConversion } from "./conversion.js";

const SEED_CONF = readFileSync(fileURLToPath(new URL("../../../src/backends/openvz/golden/seed-1.conf", import.meta.url)), "utf8");

test("the seed's 1.conf to LXC: memory, swap, network carry; quota and netfilter are listed as lost", () => {
  const plan = planConversion(`${SEED_CONF}CPUS="2"\nHOSTNAME="web"\nKMEMSIZE="14372700:14790164"\n`, "lxc");
  assert.deepEqual(plan.carried, [
    { key: "PHYSPAGES", becomes: `lxc.cgroup.memory.limit_in_bytes = ${1024 ** 3}` },
    { key: "SWAPPAGES", becomes: `lxc.cgroup.memory.memsw.limit_in_bytes = ${1024 ** 3 + 512 * 1024 ** 2}` },
    { key: "CPUS", becomes: "lxc.cgroup.cpu.cfs_quota_us = 200000 (period 100000)" },
    { key: "HOSTNAME", becomes: "lxc.uts.name = web" },
    { key: "NETIF", becomes: "lxc.net.0.type = veth, lxc.net.0.name = eth0, lxc.net.0.hwaddr = 00:18:51:A1:C6:35 (on the target's container network)" },
  ]);
  assert.deepEqual(
    plan.dropped.map((d) => d.key),
    ["DISKSPACE", "DISKINODES", "QUOTATIME", "CPUUNITS", "NETFILTER", "KMEMSIZE"],
  );
  assert.match(plan.dropped.find((d) => d.key === "KMEMSIZE")!.why, /beancounter/);
});

test("to LXD, a fractional CPU limit becomes an allowance and unlimited memory carries nothing", () => {
  const plan = planConversion('PHYSPAGES="0:2251799813685248"\nSWAPPAGES="0:0"\nCPUS="1"\nCPULIMIT="50"\nIP_ADDRESS="10.0.0.5"\n', "lxd");
  assert.deepEqual(plan.carried.map((c) => c.becomes.split(" ")[0]), ["limits.cpu.allowance=50ms/100ms", "venet"]);
  assert.deepEqual(plan.dropped, []);
});

test("what lives beside CTID.conf stays behind on a conversion, named: action scripts and each per-UID/GID quota", () => {
  const plan = planConversion('QUOTAUGIDLIMIT="100"\n', "lxc", {
    actionScripts: ["101.start", "101.mount"],
    ugidQuotas: [{ id: 500, type: "user", blockSoft: 1000, blockHard: 2000, inodeSoft: 0, inodeHard: 0, blockTime: 0, inodeTime: 0 }],
  });
  assert.deepEqual(plan.dropped.map((d) => d.key), ["QUOTAUGIDLIMIT", "101.start", "101.mount", "vzquota user 500"]);
  assert.match(plan.dropped[1]!.why, /inside the CT at start/);
  assert.match(plan.dropped[2]!.why, /as root on the host at mount/);
  assert.match(plan.dropped[3]!.why, /user 500: blocks 1000\/2000 KiB, inodes -\/- \(soft\/hard\)\): LXC and LXD directory storage have no per-user quota/);
});
