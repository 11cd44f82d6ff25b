// `ct top` and `host pid` through the CLI on a real emulated host, for every backend that runs here:
// the PID `ct top` lists is mapped back to its container by `host pid`, and the host's own /proc
// agrees (OpenVZ against the vzctl STAND-IN, since no OpenVZ kernel can run here).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { ProcessInfo } from "@corral/wire";
import { buildBusyboxRootfs, type BusyboxRootfs } from "@corral/agent/test-support";
import { TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 1, slot: 11, docker: true });
// One LXD daemon serves every emulated host of every cluster on this machine: a name of our own.
const LXD_CT = `top-lxd-${process.pid}`;
let appImage: BusyboxRootfs;
let bootImage: BusyboxRootfs;

type Proc = ProcessInfo;
// Five containers on one 2-CPU host: each reserves a tenth of a CPU, not the default one.
const SMALL = ["--cpus", "0.1"];

before(async () => {
  appImage = buildBusyboxRootfs();
  bootImage = buildBusyboxRootfs({ bootable: true });
  await cluster.up();
});
after(async () => {
  await cluster.cli(["ct", "rm", "--force", LXD_CT]);
  await cluster.down();
  appImage?.cleanup();
  bootImage?.cleanup();
});

const ok = async (args: string[]) => {
  const r = await cluster.cli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};

/** ct top lists the container's init as PID 1 inside; host pid maps its host PID back. */
async function topAndBack(name: string, backend: string, command: RegExp): Promise<Proc> {
  const procs = await cluster.json<Proc[]>(["ct", "top", name]);
  const init = procs.find((p) => p.pid === 1);
  assert.ok(init, `${name}: no PID 1 in ${JSON.stringify(procs)}`);
  assert.ok(init.hostPid > 1 && init.hostPid !== init.pid, JSON.stringify(init));
  assert.match(init.command, command);
  assert.ok(init.cpuSeconds >= 0);
  // The host's /proc says the same: that process's innermost PID is 1, and its uid is hostUid.
  const status = readFileSync(`/proc/${init.hostPid}/status`, "utf8");
  assert.match(status, /^NSpid:.*\s1$/m);
  assert.equal(Number(/^Uid:\s*(\d+)/m.exec(status)?.[1]), init.hostUid);
  for (const p of procs) {
    const owner = await cluster.json<unknown>(["host", "pid", "host1", String(p.hostPid)]);
    assert.deepEqual(owner, { container: name, host: "host1", backend, pid: p.pid });
  }
  const table = await ok(["ct", "top", name]);
  assert.match(table.stdout, new RegExp(`^HOST PID\\s+PID\\s+USER\\s+UID\\s+TIME\\s+COMMAND\\n(.*\\n)*\\s*${init.hostPid}\\s+1\\s+${init.user}\\s+${init.hostUid}\\s`));
  return init;
}

test("lxc: ct top shows the container's init, user root inside; host pid maps every PID back", async () => {
  await ok(["ct", "create", "top-lxc", "--host", "host1", ...SMALL]);
  const init = await topAndBack("top-lxc", "lxc", /init|sh|sleep/);
  assert.equal(init.user, "root");
});

test("docker: the image's command is PID 1 inside; host pid maps it back", async () => {
  await ok(["image", "import", appImage.tarball, "--name", "topapp", "--backend", "docker"]);
  await ok(["ct", "create", "top-docker", "--backend", "docker", "--image", "topapp", "--host", "host1", "--cmd", "sleep 1000000", ...SMALL]);
  const init = await topAndBack("top-docker", "docker", /^sleep 1000000$/);
  assert.deepEqual([init.user, init.hostUid], ["root", 0]);
});

test("openvz (stand-in): the CT's init is PID 1 inside; host pid maps it back", async () => {
  await ok(["ct", "create", "top-vz", "--backend", "openvz", "--template", "busybox", "--host", "host1", ...SMALL]);
  await topAndBack("top-vz", "openvz", /init/);
});

test("lxd: the instance's init is PID 1 inside; host pid maps it back", async (t) => {
  const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
  if (!hosts.every((h) => h.backends.includes("lxd"))) return t.skip("LXD is not running on this machine");
  await ok(["image", "import", bootImage.tarball, "--name", "topsys", "--backend", "lxd"]);
  await ok(["ct", "create", LXD_CT, "--backend", "lxd", "--image", "topsys", "--host", "host1", ...SMALL]);
  const init = await topAndBack(LXD_CT, "lxd", /init/);
  assert.equal(init.user, "root");
});

test("a PID no container owns, and a stopped container, get clear errors", async () => {
  const own = await cluster.cli(["host", "pid", "host1", String(process.pid)]);
  assert.equal(own.code, 1, own.stderr);
  assert.match(own.stderr, new RegExp(`no container on host1 owns PID ${process.pid}`));
  await ok(["ct", "stop", "top-lxc", "--timeout", "5"]);
  const stopped = await cluster.cli(["ct", "top", "top-lxc"]);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /container top-lxc is stopped; start it first/);
});
