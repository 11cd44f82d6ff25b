// The OpenVZ parsers against golden files of real OpenVZ 6 output (golden/README.md says where each
// comes from), apart from the stand-in, so that the stand-in cannot hide a parser bug.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { limitsFromConfig, pagesOf, parseConfig, UNLIMITED_PAGES } from "./config.js";
import { pagesLimitBytes, parseBcResources, parseProcs, parseUserBeancounters, parseVeinfo } from "./proc-files.js";
import { findTemplate, vzctlVersion, vzPaths } from "./vz-conf.js";
import { renumberNetif } from "./config-policy.js";
import { VZ_EXIT_MEANING, vzExit } from "./tools.js";
import { describeUgidQuota, formatVzdqdump, parseVzdqdump } from "./vzdq-dump.js";

const GOLDEN = fileURLToPath(new URL("../../../src/backends/openvz/golden/", import.meta.url));
const golden = (f: string) => readFileSync(GOLDEN + f, "utf8");

test("golden: /proc/vz/veinfo lists running CTs with their process counts and IPs, the host left out", () => {
  const rows = parseVeinfo(golden("veinfo.txt"));
  assert.deepEqual([...rows.keys()], [1, 101]);
  assert.deepEqual(rows.get(1), { ctid: 1, nproc: 19, ips: [] });
  assert.deepEqual(rows.get(101), { ctid: 101, nproc: 3, ips: ["192.168.0.101", "10.0.0.101"] });
});

test("golden: /proc/bc/1/resources gives physpages and numproc held, the limit, no dummies", () => {
  const bc = parseBcResources(golden("bc-1-resources.txt"));
  assert.deepEqual(bc.get("physpages"), { held: 21833, maxheld: 23890, barrier: 0, limit: 262144, failcnt: 0 });
  assert.equal(bc.get("numproc")?.held, 19);
  assert.equal(bc.has("dummy"), false);
  assert.equal(bc.size, 21);
  assert.equal(pagesLimitBytes(bc.get("physpages")!.limit), 1024 ** 3);
  assert.equal(pagesLimitBytes(bc.get("kmemsize")!.limit), 0, "LONG_MAX is no limit");
});

test("golden: /proc/user_beancounters splits per CT and agrees with /proc/bc/1/resources", () => {
  const all = parseUserBeancounters(golden("user_beancounters.txt"));
  assert.deepEqual([...all.keys()], [1, 0]);
  assert.deepEqual(all.get(1), parseBcResources(golden("bc-1-resources.txt")));
  assert.equal(all.get(0)?.get("numproc")?.held, 212);
});

test("golden: the seed's fairsched cgroup.procs starts with the CT's init (3303, envID 1)", () => {
  const procs = parseProcs(golden("seed-fairsched-1-cgroup.procs"));
  assert.equal(procs.length, 19);
  assert.equal(procs[0], 3303);
  assert.match(golden("seed-proc-3303-status-envID.txt"), /^envID:\s+1$/m);
});

test("golden: the seed's 1.conf has 1 GiB RAM (pages) and 512 MiB swap (a size suffix)", () => {
  const conf = parseConfig(golden("seed-1.conf"));
  assert.deepEqual(limitsFromConfig(conf), { memoryBytes: 1024 ** 3, cpus: 0, swapBytes: 512 * 1024 ** 2, diskBytes: Math.round(2.2 * 1024 ** 3) });
  assert.equal(pagesOf("512M"), 131072);
  assert.equal(pagesOf("2.2G"), Math.ceil((2.2 * 1024 ** 3) / 4096));
  assert.deepEqual(limitsFromConfig(parseConfig('PHYSPAGES="0:256M"\n')), { memoryBytes: 256 * 1024 ** 2, cpus: 0 });
  // vzctl saves --ram unlimited as 0:2251799813685248; LONG_MAX and "unlimited" mean the same.
  for (const v of [`0:${UNLIMITED_PAGES}`, "0:9223372036854775807", "0:unlimited"]) {
    assert.equal(limitsFromConfig(parseConfig(`PHYSPAGES="${v}"\n`)).memoryBytes, 0, v);
  }
});

test("golden: the seed's NETIF host_ifname follows a renumbered CT; a chosen name stays", () => {
  const text = golden("seed-1.conf");
  const out = parseConfig(renumberNetif(text, 1, 102)).get("NETIF");
  assert.equal(out, "ifname=eth0,bridge=br0,mac=00:18:51:A1:C6:35,host_ifname=veth102.eth0,host_mac=00:18:51:BF:1D:AC");
  assert.equal(renumberNetif('NETIF="ifname=eth0,host_ifname=mine0"\n', 1, 102), 'NETIF="ifname=eth0,host_ifname=mine0"\n');
});

test("golden: vz.conf gives /vz paths upstream and /var/lib/vz on Debian, $VEID kept for each CT", () => {
  const up = vzPaths(golden("vz.conf-upstream"), "/etc/vz/vz.conf");
  assert.deepEqual(up, {
    confDir: "/etc/vz/conf",
    privateTemplate: "/vz/private/$VEID",
    rootTemplate: "/vz/root/$VEID",
    templateCache: "/vz/template/cache",
    diskQuota: true,
  });
  const deb = vzPaths(golden("vz.conf-debian"), "/etc/vz/vz.conf");
  assert.equal(deb.privateTemplate, "/var/lib/vz/private/$VEID");
  assert.equal(deb.templateCache, "/var/lib/vz/template/cache");
  assert.throws(() => vzPaths("TEMPLATE=/vz/template\nVE_ROOT=/vz/root/$VEID\n", "/etc/vz/vz.conf"), /does not set VE_PRIVATE \(vzctl would exit 23\)/);
});

test("every OS template format vzctl takes is found: .tar.gz, .tar.xz, .tar.bz2, .tar", () => {
  const cache = mkdtempSync(join(tmpdir(), "corral-ovz-tmpl-"));
  const paths = { ...vzPaths(golden("vz.conf-debian"), "/etc/vz/vz.conf"), templateCache: cache };
  for (const ext of [".tar.gz", ".tar.xz", ".tar.bz2", ".tar"]) {
    writeFileSync(join(cache, `os${ext}`), "");
    assert.equal(findTemplate(paths, "os"), join(cache, "os.tar.gz"));
    writeFileSync(join(cache, `only${ext.replace(/\./g, "")}${ext}`), "");
    assert.equal(findTemplate(paths, `only${ext.replace(/\./g, "")}`), join(cache, `only${ext.replace(/\./g, "")}${ext}`));
  }
  assert.equal(findTemplate(paths, "missing"), undefined);
  assert.equal(findTemplate(paths, "../os"), undefined);
  rmSync(cache, { recursive: true });
});

test("golden: vzctl --version tells OpenVZ 6 (vzctl 4.x) from OpenVZ 7", () => {
  assert.deepEqual(vzctlVersion(golden("vzctl-version-6.txt")), { text: "4.9.4", major: 4 });
  assert.deepEqual(vzctlVersion(golden("vzctl-version-7.txt")), { text: "7.0.228", major: 7 });
});

test("every exit status vzctl(8) documents has its meaning in errors", () => {
  assert.equal(vzExit(41), "vzctl exit 41: container already mounted");
  assert.equal(vzExit(28), "vzctl exit 28: not all required UBC parameters are set, unable to start container");
  assert.match(vzExit(3), /killed by a signal/);
  assert.equal(vzExit(250), "vzctl exit 250");
  assert.equal(Object.keys(VZ_EXIT_MEANING).length, 81);
});

test("golden: vzdqdump -U -G -T gives the per-UID/GID quotas, grace times and expiry, and formats back byte for byte", () => {
  const text = golden("vzdqdump-101-UGT.txt");
  const d = parseVzdqdump(text);
  assert.equal(d.on, true);
  assert.deepEqual(d.grace, [
    { type: "user", blockSeconds: 604800, inodeSeconds: 604800 },
    { type: "group", blockSeconds: 86400, inodeSeconds: 86400 },
  ]);
  assert.equal(d.entries.length, 4);
  assert.deepEqual(d.entries[1], { id: 500, type: "user", blockSoft: 1048576, blockHard: 1153434, inodeSoft: 50000, inodeHard: 55000, blockTime: 1384501234, inodeTime: 0 });
  assert.deepEqual(d.entries[3]!.type, "group");
  assert.equal(describeUgidQuota(d.entries[3]!), "group 48: blocks 204800/256000 KiB, inodes -/- (soft/hard)");
  assert.equal(formatVzdqdump(d), text, "what vzdqload is fed is vzdqdump's own layout");
  const off = parseVzdqdump(golden("vzdqdump-102-off.txt"));
  assert.deepEqual(off, { on: false, grace: [], entries: [] });
  assert.equal(formatVzdqdump(off), golden("vzdqdump-102-off.txt"));
  // -U alone: six columns per ugid line, no expiry.
  assert.deepEqual(parseVzdqdump("ugid_quota_status:\t1\nugid_number:\t1\nugid:\t7\t0\t1\t2\t3\t4\n").entries[0], {
    id: 7, type: "user", blockSoft: 1, blockHard: 2, inodeSoft: 3, inodeHard: 4, blockTime: 0, inodeTime: 0,
  });
});

test("vzdqdump output from another host: anything but vzdqdump's own lines is refused, with the line named", () => {
  const bad: [string, RegExp][] = [
    ["", /does not start with "ugid_quota_status:"/],
    ["ugid_quota_status:\t2\n", /does not start/],
    ["ugid_quota_status:\t1\nugid_number:\t2\nugid:\t1\t0\t1\t1\t1\t1\n", /ugid_number says 2, 1 ugid lines follow/],
    ["ugid_quota_status:\t1\nugid_number:\t1\nugid:\t1\t2\t1\t1\t1\t1\n", /neither 0 \(user\) nor 1 \(group\)/],
    ["ugid_quota_status:\t1\nugid_number:\t1\nugid:\t1\t0\t1\t1\t1\t-1\n", /not a line of numbers/],
    ["ugid_quota_status:\t1\nugid_number:\t2\nugid:\t1\t0\t1\t1\t1\t1\nugid:\t1\t0\t1\t1\t1\t1\n", /user 1 appears twice/],
    ["ugid_quota_status:\t1\nugid:\t1\t0\t1\t1\t1\t1\n", /unexpected line "ugid:/],
    ["ugid_quota_status:\t1\nugid_number:\t0\n$(reboot)\n", /unexpected line "\$\(reboot\)"/],
    ["ugid_quota_status:\t0\nugid_number:\t0\n", /listed while ugid_quota_status is 0/],
    ["ugid_quota_status:\t1\ngrace_time:\t1\t1\t1\n", /type 0 \(user\) then 1 \(group\)/],
    ["ugid_quota_status:\t1\nugid_number:\t99999999\n", /more than 65536/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseVzdqdump(text), re, JSON.stringify(text));
});
