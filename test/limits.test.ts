// Limits through the CLI on real runtimes, as an operator sets them (`docker update`, `vzctl set
// --save`): `ct set` applies memory, swap, CPU shares and pids live, the runtime's own config keeps
// them, and they survive a restart and a migration. A size without a unit, a value below a
// runtime's minimum and a disk quota where the runtime has none are refused with the reason.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { buildBusyboxRootfs, type BusyboxRootfs } from "@corral/agent/test-support";
import { TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 14, docker: true });
// One LXD daemon serves every cluster on this machine: a name of our own.
const LXD_NAME = `lim-${process.pid}`;
let appImage: BusyboxRootfs;
let bootImage: BusyboxRootfs;
let lxd = false;
const MiB = 1024 * 1024;

const ok = async (args: string[]) => {
  const r = await cluster.cli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};
const refused = async (args: string[], why: RegExp) => {
  const r = await cluster.cli(args, { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0, `corral ${args.join(" ")} should be refused`);
  assert.match(r.stderr, why);
};

interface CtJson {
  host: string;
  spec: { limits: { memoryBytes: number; cpus: number; swapBytes?: number; cpuShares?: number; pidsMax?: number; diskBytes?: number } };
}
const show = (name: string) => cluster.json<CtJson>(["ct", "show", name]);

/** A cgroup v1 file of an LXC container on an emulated host (fixed path: corral/<host>/<name>). */
const lxcCgroup = (host: string, name: string, file: string): string =>
  readFileSync(join("/sys/fs/cgroup", file.slice(0, file.indexOf(".")), "corral", host, name, file), "utf8").trim();

/** The stand-in's CTID.conf of a container, found by its NAME. */
function vzConf(host: string, name: string): string {
  const dir = join(cluster.hostDir(host), "vz/etc/vz/conf");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".conf"))) {
    const text = readFileSync(join(dir, f), "utf8");
    if (text.includes(`NAME="${name}"`)) return text;
  }
  throw new Error(`no CTID.conf names ${name} on ${host}`);
}

before(async () => {
  appImage = buildBusyboxRootfs();
  bootImage = buildBusyboxRootfs({ bootable: true });
  await cluster.up();
  const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
  lxd = hosts[0]?.backends.includes("lxd") ?? false;
});
after(async () => {
  for (const n of ["lim-lxc", "lim-docker", "lim-vz", LXD_NAME]) await cluster.cli(["ct", "rm", "--force", n]);
  await cluster.down();
  appImage?.cleanup();
  bootImage?.cleanup();
});

describe("ct set on LXC: the cgroup files, the config, a restart and a migration", () => {
  test("memory, swap, cpu shares and pids reach the cgroup live and stay", async () => {
    await ok(["ct", "create", "lim-lxc", "--host", "host1", "--memory", "64M", "--cpus", "0.2"]);
    const set = await ok(["ct", "set", "lim-lxc", "--pids", "100", "--cpu-shares", "512", "--memory", "96M", "--swap", "32M"]);
    assert.match(set.stdout, /pids 100/);
    assert.equal(lxcCgroup("host1", "lim-lxc", "pids.max"), "100");
    assert.equal(lxcCgroup("host1", "lim-lxc", "cpu.shares"), "512");
    assert.equal(Number(lxcCgroup("host1", "lim-lxc", "memory.limit_in_bytes")), 96 * MiB);
    assert.equal(Number(lxcCgroup("host1", "lim-lxc", "memory.memsw.limit_in_bytes")), 128 * MiB);
    const cfg = readFileSync(join(cluster.hostDir("host1"), "lxc/lim-lxc/config"), "utf8");
    assert.match(cfg, /^lxc\.cgroup\.pids\.max = 100$/m);
    assert.match(cfg, /^lxc\.cgroup\.cpu\.shares = 512$/m);
    const c = await show("lim-lxc");
    assert.deepEqual(c.spec.limits, { memoryBytes: 96 * MiB, cpus: 0.2, swapBytes: 32 * MiB, cpuShares: 512, pidsMax: 100 });

    // lxcfs (setup starts it): the container's /proc/meminfo is its own limit, live after ct set.
    if (existsSync("/var/lib/lxcfs/proc/meminfo")) {
      const mem = await ok(["ct", "exec", "lim-lxc", "--", "head", "-1", "/proc/meminfo"]);
      assert.match(mem.stdout, /^MemTotal:\s+98304 kB$/m);
    }

    await ok(["ct", "restart", "lim-lxc"]);
    assert.equal(lxcCgroup("host1", "lim-lxc", "pids.max"), "100", "after a restart");
    assert.equal(lxcCgroup("host1", "lim-lxc", "cpu.shares"), "512", "after a restart");

    await ok(["ct", "migrate", "lim-lxc", "--to", "host2"]);
    assert.equal(lxcCgroup("host2", "lim-lxc", "pids.max"), "100", "after a migration");
    assert.equal(Number(lxcCgroup("host2", "lim-lxc", "memory.memsw.limit_in_bytes")), 128 * MiB, "after a migration");
    assert.deepEqual((await show("lim-lxc")).spec.limits.pidsMax, 100);

    // A limit not given keeps its value.
    await ok(["ct", "set", "lim-lxc", "--pids", "50"]);
    assert.equal(lxcCgroup("host2", "lim-lxc", "pids.max"), "50");
    assert.equal(lxcCgroup("host2", "lim-lxc", "cpu.shares"), "512");
  });

  test("what LXC cannot do is refused before anything changes", async () => {
    await refused(["ct", "set", "lim-lxc", "--disk", "1G"], /lxc keeps its rootfs in a plain directory, which has no quota/);
    await refused(["ct", "set", "lim-lxc", "--memory", "256"], /did you mean 256M\?/);
    await refused(["ct", "set", "lim-lxc", "--swap", "64"], /did you mean 64M\?/);
    await refused(["ct", "set", "lim-lxc", "--cpu-shares", "1"], /below the minimum of 2/);
    await refused(["ct", "set", "lim-lxc", "--pids", "ten"], /invalid --pids "ten": expected a whole number/);
    assert.equal(lxcCgroup("host2", "lim-lxc", "pids.max"), "50", "nothing changed");
  });
});

describe("ct set on Docker: docker update, and the limits move with the container", () => {
  test("pids and cpu shares live inside the container, after a restart and a migration", async () => {
    await ok(["image", "import", appImage.tarball, "--name", "limapp", "--backend", "docker"]);
    await ok(["ct", "create", "lim-docker", "--backend", "docker", "--image", "limapp", "--cmd", "sleep 100000", "--host", "host1", "--memory", "64M", "--cpus", "0.2"]);
    await ok(["ct", "set", "lim-docker", "--pids", "100", "--cpu-shares", "512", "--swap", "16M"]);
    // Docker mounts the container's own cgroup v1 directories at /sys/fs/cgroup/<controller>.
    const inside = async () =>
      (await ok(["ct", "exec", "lim-docker", "--", "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"])).stdout.split("\n").slice(0, 3);
    assert.deepEqual(await inside(), ["100", "512", String(80 * MiB)]);
    // sleep as PID 1 ignores SIGTERM: a clean stop would wait its whole 30 s for nothing.
    await ok(["ct", "restart", "lim-docker", "--timeout", "0"]);
    assert.deepEqual(await inside(), ["100", "512", String(80 * MiB)], "after a restart");
    await ok(["ct", "migrate", "lim-docker", "--to", "host2", "--stop-timeout", "0"]);
    assert.equal((await show("lim-docker")).host, "host2");
    assert.deepEqual(await inside(), ["100", "512", String(80 * MiB)], "after a migration");
  });

  test("no disk quota on overlay2, and Docker's memory floor", async () => {
    await refused(["ct", "set", "lim-docker", "--disk", "1G"], /docker has no disk quota on overlay2/);
    await refused(["ct", "set", "lim-docker", "--memory", "4M"], /below docker's minimum of 6\.0 MiB/);
  });
});

describe("ct set on the OpenVZ stand-in: vzctl set --save", () => {
  test("NUMPROC, CPUUNITS, SWAPPAGES and DISKSPACE in CTID.conf, the pids cgroup live", async () => {
    await ok(["ct", "create", "lim-vz", "--backend", "openvz", "--template", "busybox", "--host", "host1", "--memory", "64M", "--cpus", "1"]);
    await ok(["ct", "set", "lim-vz", "--pids", "100", "--cpu-shares", "500", "--disk", "1G", "--swap", "32M"]);
    const conf = vzConf("host1", "lim-vz");
    assert.match(conf, /^NUMPROC="100:100"$/m);
    assert.match(conf, /^CPUUNITS="500"$/m);
    assert.match(conf, /^DISKSPACE="1048576K:1048576K"$/m);
    assert.match(conf, /^SWAPPAGES="0:8192"$/m);
    const r = await ok(["ct", "exec", "lim-vz", "--", "sh", "-c", "sleep 5 & sleep 5 & wait; echo done"]);
    assert.match(r.stdout, /done/);
    await ok(["ct", "restart", "lim-vz"]);
    const c = await show("lim-vz");
    assert.deepEqual(c.spec.limits, { memoryBytes: 64 * MiB, cpus: 1, swapBytes: 32 * MiB, cpuShares: 500, pidsMax: 100, diskBytes: 1024 * MiB });
    await ok(["ct", "migrate", "lim-vz", "--to", "host2"]);
    assert.match(vzConf("host2", "lim-vz"), /^NUMPROC="100:100"$/m, "after a migration");
    await refused(["ct", "set", "lim-vz", "--cpu-shares", "4"], /below openvz's minimum of 8/);
  });
});

describe("ct set on LXD: limits.processes, the cpu weight, and no quota on a dir pool", () => {
  test("limits.* keys live, refusals where LXD cannot", async (t) => {
    if (!lxd) return t.skip("no LXD daemon on this machine");
    await ok(["image", "import", bootImage.tarball, "--name", "limsys", "--backend", "lxd"]);
    await ok(["ct", "create", LXD_NAME, "--backend", "lxd", "--image", "limsys", "--host", "host1", "--cpus", "1", "--memory", "64M"]);
    await ok(["ct", "set", LXD_NAME, "--pids", "100", "--cpu-shares", "512"]);
    const get = (key: string) => execFileSync("lxc", ["config", "get", "--project", cluster.lxdProject, `host1-${LXD_NAME}`, key], { encoding: "utf8" }).trim();
    assert.equal(get("limits.processes"), "100");
    assert.equal(get("limits.cpu.allowance"), "50%");
    await refused(["ct", "set", LXD_NAME, "--swap", "32M"], /limits\.memory\.swap only turns swap on or off/);
    const pools = execFileSync("lxc", ["storage", "list", "--format", "csv"], { encoding: "utf8" });
    if (/^default,dir,/m.test(pools)) await refused(["ct", "set", LXD_NAME, "--disk", "1G"], /uses the dir driver, which has no disk quota/);
    assert.equal(get("limits.processes"), "100", "a refused set changes nothing");
  });
});
