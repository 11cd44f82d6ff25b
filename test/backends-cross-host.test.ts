// The same operator workflow on the other runtimes, through the CLI, between two emulated hosts that
// each run their own dockerd: Docker app containers keep their whole config across a migration;
// LXD system containers move through LXD's own backups; OpenVZ containers move the seed's way
// (stop, tar the private area, copy with the config, extract, start) — against the vzctl STAND-IN,
// since no OpenVZ kernel can run here.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { TestCluster } from "./support/cluster.js";
import { buildBusyboxRootfs, type BusyboxRootfs } from "@corral/agent/test-support";

const cluster = new TestCluster({ hosts: 2, slot: 2, docker: true });
// One LXD daemon serves every emulated host of every cluster on this machine: a name of our own.
const SYS = `sys-${process.pid}`;
let appImage: BusyboxRootfs;
let bootImage: BusyboxRootfs;

interface CtJson {
  name: string;
  host: string;
  backend: string;
  state: string;
  spec: { env: string[]; cmd: string[]; ports: { hostPort: number; containerPort: number }[]; limits: { memoryBytes: number } };
}

before(async () => {
  appImage = buildBusyboxRootfs();
  bootImage = buildBusyboxRootfs({ bootable: true });
  await cluster.up();
});
after(async () => {
  await cluster.cli(["ct", "rm", "--force", SYS]); // LXD is one daemon for every cluster: leave nothing behind
  await cluster.down();
  appImage?.cleanup();
  bootImage?.cleanup();
});

const ok = async (args: string[]) => {
  const r = await cluster.cli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};

describe("every host reports every runtime it can drive", () => {
  test("host list shows lxc, docker and openvz (stand-in) on both hosts", async () => {
    const hosts = await cluster.json<{ name: string; backends: string[]; backendDetails: { name: string; reason: string }[] }[]>(["host", "list"]);
    for (const h of hosts) {
      for (const b of ["lxc", "docker", "openvz"]) assert.ok(h.backends.includes(b), `${h.name}: ${JSON.stringify(h.backendDetails)}`);
      assert.match(h.backendDetails.find((b) => b.name === "openvz")?.reason ?? "", /stand-in/);
    }
  });
});

describe("docker: an app container keeps Cmd, Env, ports and limits across hosts", () => {
  test("import, create, migrate, and the container runs the same on the target", async () => {
    const imp = await cluster.json<{ host: string }[]>(["image", "import", appImage.tarball, "--name", "bbapp", "--backend", "docker"]);
    assert.deepEqual(imp.map((i) => i.host).sort(), ["host1", "host2"]);
    await ok([
      "ct", "create", "app1", "--backend", "docker", "--image", "bbapp", "--host", "host1", "--memory", "64M",
      "--env", "GREETING=hello world", "--env", "MODE=prod", "--port", "18080:80",
      "--cmd", "sh -c 'echo $GREETING > /tmp/greeting; exec sleep 1000000'",
    ]);
    await ok(["ct", "exec", "app1", "--", "sh", "-c", "echo payload > /root/state; chown 1234:2345 /root/state"]);

    const m = await ok(["ct", "migrate", "app1", "--to", "host2"]);
    assert.match(m.stdout + m.stderr, /app1 migrated host1 → host2/);

    const shown = await cluster.json<CtJson>(["ct", "show", "app1"]);
    assert.deepEqual([shown.host, shown.state], ["host2", "running"]);
    assert.deepEqual(shown.spec.ports.map((p) => [p.hostPort, p.containerPort]), [[18080, 80]]);
    const r = await ok(["ct", "exec", "app1", "--", "sh", "-c", "cat /root/state; stat -c %u:%g /root/state; echo $GREETING; echo $MODE; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    assert.equal(r.stdout, "payload\n1234:2345\nhello world\nprod\nsleep 1000000 \n67108864\n");
  });
});

describe("lxd: a system container moves through LXD's backups", () => {
  test("import, create with limits, migrate, files and owners intact", async (t) => {
    const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
    if (!hosts.every((h) => h.backends.includes("lxd"))) return t.skip("LXD is not running on this machine");
    await ok(["image", "import", bootImage.tarball, "--name", "bbsys", "--backend", "lxd"]);
    await ok(["ct", "create", SYS, "--backend", "lxd", "--image", "bbsys", "--host", "host1", "--memory", "96M", "--cpus", "1"]);
    await ok(["ct", "exec", SYS, "--", "sh", "-c", "echo lxd-data > /root/d; chown 1234:2345 /root/d"]);
    await ok(["ct", "migrate", SYS, "--to", "host2"]);
    const shown = await cluster.json<CtJson>(["ct", "show", SYS]);
    assert.deepEqual([shown.host, shown.state], ["host2", "running"]);
    const r = await ok(["ct", "exec", SYS, "--", "sh", "-c", "cat /root/d; stat -c %u:%g /root/d"]);
    assert.equal(r.stdout, "lxd-data\n1234:2345\n");
    await ok(["ct", "rm", "--force", SYS]);
  });
});

describe("openvz via the vzctl stand-in (not a real OpenVZ kernel): the seed's manual migration, cluster-wide", () => {
  test("create from the busybox template, write, migrate, read back; the private area moved", async () => {
    await ok(["ct", "create", "vz1", "--backend", "openvz", "--template", "busybox", "--host", "host1", "--memory", "128M"]);
    await ok(["ct", "exec", "vz1", "--", "sh", "-c", "echo vz-data > /root/v; chown 1234:2345 /root/v"]);
    await ok(["ct", "migrate", "vz1", "--to", "host2"]);
    const shown = await cluster.json<CtJson>(["ct", "show", "vz1"]);
    assert.deepEqual([shown.host, shown.state], ["host2", "running"]);
    const r = await ok(["ct", "exec", "vz1", "--", "sh", "-c", "cat /root/v; stat -c %u:%g /root/v"]);
    assert.equal(r.stdout, "vz-data\n1234:2345\n");
    // host1 has vzctl's upstream /vz layout, host2 Debian's /var/lib/vz (deploy/local-cluster.sh).
    const priv = (h: string) => `${cluster.hostDir(h)}/vz/${h === "host1" ? "vz" : "var/lib/vz"}/private/101`;
    assert.equal(existsSync(priv("host1")), false, "the source private area must be gone");
    assert.equal(existsSync(priv("host2")), true);
  });
});

describe("openvz via the vzctl stand-in: an image is an OS template, fetched on first use, listed, and kept while used", () => {
  test("image import --backend openvz, ct create --image on another host, image list, image rm refused then done", async () => {
    const IMG = `bbvz-${process.pid}:1`;
    const template = IMG.replace(":", "_");
    const tpl = (h: string) => `${cluster.hostDir(h)}/vz/${h === "host1" ? "vz" : "var/lib/vz"}/template/cache/${template}.tar.gz`;
    const vzImage = buildBusyboxRootfs({ bootable: true, gzip: true });
    try {
      const imp = await cluster.json<{ host: string; backend: string; id: string }[]>(["image", "import", vzImage.tarball, "--name", IMG, "--backend", "openvz", "--host", "host2"]);
      assert.deepEqual(imp.map((i) => `${i.host}/${i.backend}`), ["host2/openvz"]);
      const sha = imp[0]!.id.replace(/^sha256:/, "");
      // vzctl's own template cache, in the format it takes (gzip bytes as NAME.tar.gz).
      assert.deepEqual([existsSync(tpl("host1")), existsSync(tpl("host2"))], [false, true]);

      // host1 lacks it (and has the CPUs free: the suites above left their containers on host2): the create brings it there first, and vzctl create --ostemplate uses it.
      await ok(["ct", "create", "vzimg", "--backend", "openvz", "--image", IMG, "--host", "host1", "--memory", "64M"]);
      assert.equal(existsSync(tpl("host1")), true);
      const r = await ok(["ct", "exec", "vzimg", "--", "sh", "-c", "cat /etc/inittab | tail -n 1"]);
      assert.equal(r.stdout, "::respawn:/bin/sleep 1000000\n");

      interface Entry { name: string; backends: string[]; sha256: string[]; hosts: string[]; kept: { backend: string; sha256: string }[] }
      const entry = (await cluster.json<Entry[]>(["image", "list"])).find((e) => e.name === IMG);
      assert.deepEqual(entry && [entry.backends, entry.sha256, entry.hosts, entry.kept.map((k) => `${k.backend} ${k.sha256}`)], [
        ["openvz"], [sha], ["host1", "host2"], [`openvz ${sha}`],
      ]);
      const table = await ok(["image", "list"]);
      assert.match(table.stdout, new RegExp(`^${IMG}\\s+openvz\\s+\\S+ \\S+\\s+${sha.slice(0, 12)}\\s+host1,host2\\s+yes$`, "m"));

      const refused = await cluster.cli(["image", "rm", IMG]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, new RegExp(`image "${IMG}" is used by vzimg \\(host1\\): remove those containers first`));
      assert.deepEqual([existsSync(tpl("host1")), existsSync(tpl("host2"))], [true, true]);

      await ok(["ct", "rm", "--force", "vzimg"]);
      const removed = await ok(["image", "rm", IMG]);
      assert.match(removed.stdout, /host1: removed .* \(openvz\)\nhost2: removed .* \(openvz\)\n/);
      assert.deepEqual([existsSync(tpl("host1")), existsSync(tpl("host2"))], [false, false]);
      assert.equal((await cluster.json<Entry[]>(["image", "list"])).some((e) => e.name === IMG), false);
    } finally {
      await cluster.cli(["ct", "rm", "--force", "vzimg"]);
      vzImage.cleanup();
    }
  });
});
