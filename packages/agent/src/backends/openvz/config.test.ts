import { test } from "node:test";
import assert from "node:assert/strict";
import { limitArgs, limitsFromConfig, parseConfig, rewriteConfigForHost, substVeid } from "./config.js";

const SEED_CONF = `PHYSPAGES="0:262144"
SWAPPAGES="0:512M"
DISKSPACE="2G:2.2G"
CPUUNITS="1000"
VE_ROOT="/var/lib/vz/root/$VEID"
VE_PRIVATE="/var/lib/vz/private/$VEID"
OSTEMPLATE="ubuntu-16.04-x86_64"
NETIF="ifname=eth0,bridge=br0,mac=00:18:51:A1:C6:35,host_ifname=veth1.eth0,host_mac=00:18:51:BF:1D:AC"
CPUS="2"
NAME="web"
`;

test("the seed's 1.conf reads as 1 GiB of RAM and 2 CPUs", () => {
  const conf = parseConfig(SEED_CONF);
  // Its 512M of swap and 2.2G disk hard limit are limits too; CPUUNITS 1000 is vzctl's default weight.
  assert.deepEqual(limitsFromConfig(conf), { memoryBytes: 1024 ** 3, cpus: 2, swapBytes: 512 * 1024 ** 2, diskBytes: Math.round(2.2 * 1024 ** 3) });
  assert.equal(substVeid(conf.get("VE_PRIVATE")!, 1), "/var/lib/vz/private/1");
});

test("Corral limits become vzctl set options and read back the same", () => {
  // --ram always travels with --swap: vzctl refuses to start a VSwap CT with PHYSPAGES but no SWAPPAGES (exit 28).
  assert.deepEqual(limitArgs({ memoryBytes: 64 * 1024 * 1024, cpus: 1 }), ["--ram", "65536K", "--swap", "0", "--cpus", "1", "--cpulimit", "0"]);
  assert.deepEqual(limitArgs({ memoryBytes: 0, cpus: 0.5 }), ["--ram", "unlimited", "--swap", "0", "--cpus", "1", "--cpulimit", "50"]);
  const half = parseConfig(`PHYSPAGES="0:unlimited"\nCPUS="1"\nCPULIMIT="50"\n`);
  assert.deepEqual(limitsFromConfig(half), { memoryBytes: 0, cpus: 0.5 });
});

test("swap, cpu units, numproc and diskspace become vzctl set options and read back the same", () => {
  const limits = { memoryBytes: 64 * 1024 * 1024, cpus: 1, swapBytes: 32 * 1024 * 1024, cpuShares: 500, pidsMax: 100, diskBytes: 1024 ** 3 };
  assert.deepEqual(limitArgs(limits), [
    "--ram", "65536K", "--swap", "32768K", "--cpus", "1", "--cpulimit", "0",
    "--cpuunits", "500", "--numproc", "100", "--diskspace", "1048576K",
  ]);
  // What vzctl saves for those options reads back as the same limits.
  const saved = parseConfig(`PHYSPAGES="0:16384"\nSWAPPAGES="0:8192"\nCPUS="1"\nCPULIMIT="0"\nCPUUNITS="500"\nNUMPROC="100:100"\nDISKSPACE="1048576K:1048576K"\n`);
  assert.deepEqual(limitsFromConfig(saved), limits);
  // A limit the config has and the new limits lack is lifted; one neither has is left alone.
  const lifted = limitArgs({ memoryBytes: 0, cpus: 0 }, limits);
  assert.deepEqual(lifted.slice(8), ["--cpuunits", "1000", "--numproc", "unlimited", "--diskspace", "unlimited"]);
  assert.deepEqual(limitsFromConfig(parseConfig(`CPUUNITS="1000"\nNUMPROC="unlimited:unlimited"\nDISKSPACE="unlimited:unlimited"\n`)), { memoryBytes: 0, cpus: 0 });
});

test("a config from another host gets this host's paths and loses its name", () => {
  const out = rewriteConfigForHost(SEED_CONF, { VE_PRIVATE: "/h2/var/lib/vz/private/$VEID", VE_ROOT: "/h2/var/lib/vz/root/$VEID" }, ["NAME"]);
  const conf = parseConfig(out);
  assert.equal(conf.get("VE_PRIVATE"), "/h2/var/lib/vz/private/$VEID");
  assert.equal(conf.get("VE_ROOT"), "/h2/var/lib/vz/root/$VEID");
  assert.equal(conf.has("NAME"), false);
  assert.equal(conf.get("NETIF"), parseConfig(SEED_CONF).get("NETIF"));
});

test("a config line a shell would execute is refused", () => {
  for (const bad of ['HOSTNAME="$(reboot)"', 'X="`id`"', "rm -rf /", 'A="b" ; touch /x']) {
    assert.throws(() => rewriteConfigForHost(`CPUS="1"\n${bad}\n`, {}), /unsafe line/);
  }
});
