// @test-lane own (everything it uses is named by its cluster slot: netns, dockerds, LXD project)
// The cluster network through the CLI, between two emulated hosts (network namespaces with their own
// dockerd, one LXD daemon, the OpenVZ STAND-IN): a web service in a container of each backend answers
// at the container's address from the other host, and on the host's own address at its --port; after
// a migration both answer again, the port now on the new host; a port taken on the target stops a
// migration before anything moves; concurrent creates never share an address.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TestCluster, eventually } from "./support/cluster.js";
import { buildBusyboxRootfs, type BusyboxRootfs } from "@corral/agent/test-support";

const run = promisify(execFile);
const SLOT = 13;
const cluster = new TestCluster({ hosts: 2, slot: SLOT, docker: true });
const hostIp = (n: number) => `10.78.${SLOT}.${10 + n}`;
const ns = (n: number) => `ct${SLOT}h${n}`;
// One LXD daemon serves every cluster on this machine: names of our own.
const LXD = `web-lxd-${process.pid}`;
let webImage: BusyboxRootfs;

interface CtJson {
  name: string;
  host: string;
  state: string;
  ipv4: string[];
}

/** One web container per backend, each with its own page and host port. */
const WEBS = [
  { name: "web-lxc", backend: "lxc", port: 18081, page: "hello from lxc" },
  { name: LXD, backend: "lxd", port: 18082, page: "hello from lxd" },
  { name: "web-vz", backend: "openvz", port: 18083, page: "hello from openvz" },
  { name: "web-dk", backend: "docker", port: 18084, page: "hello from docker" },
];

before(async () => {
  // A bootable busybox whose init serves /srv (LXD boots it; Docker runs httpd from it directly).
  webImage = buildBusyboxRootfs({ bootable: true });
  await cluster.up();
});
after(async () => {
  await cluster.cli(["ct", "rm", "--force", LXD]);
  // LXD is one daemon for every cluster: its image goes too.
  await cluster.cli(["image", "rm", `netweb-${process.pid}`]);
  await cluster.down();
  webImage?.cleanup();
});

const ok = async (args: string[]) => {
  const r = await cluster.cli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};

/** curl from inside emulated host N; "" when nothing answered within 3 s. */
async function curlFrom(n: number, url: string): Promise<string> {
  try {
    return (await run("ip", ["netns", "exec", ns(n), "curl", "-s", "-m", "3", url])).stdout;
  } catch {
    return "";
  }
}

const addressOf = async (name: string) => {
  const c = await cluster.json<CtJson>(["ct", "show", name]);
  assert.equal(c.ipv4.length, 1, `${name} has no address: ${JSON.stringify(c)}`);
  return c.ipv4[0]!;
};

describe("a service in a container of every backend, reached across hosts", () => {
  test("answers at its address from the other host, and at its --port on the host's own address", async () => {
    const { tarball } = webImage;
    await ok(["image", "import", tarball, "--name", `netweb-${process.pid}`, "--backend", "lxd", "--host", "host1"]);
    await ok(["image", "import", tarball, "--name", "netapp", "--backend", "docker", "--host", "host1"]);
    const common = ["--host", "host1", "--memory", "64M", "--cpus", "0.25"];
    await ok(["ct", "create", "web-lxc", ...common, "--port", "18081:80"]);
    await ok(["ct", "create", LXD, "--backend", "lxd", "--image", `netweb-${process.pid}`, ...common, "--port", "18082:80"]);
    await ok(["ct", "create", "web-vz", "--backend", "openvz", "--template", "busybox", ...common, "--port", "18083:80"]);
    await ok(["ct", "create", "web-dk", "--backend", "docker", "--image", "netapp", ...common, "--port", "18084:80",
      "--cmd", "sh -c 'mkdir -p /srv && echo hello from docker > /srv/index.html && exec httpd -f -p 80 -h /srv'"]);
    // The service survives a restart on another host: LXC's rcS, OpenVZ's rc.local and LXD's inittab start it at boot.
    const serve = (page: string, boot: string) =>
      `mkdir -p /srv && echo '${page}' > /srv/index.html && echo 'httpd -p 80 -h /srv' >> ${boot} && chmod +x ${boot} && httpd -p 80 -h /srv`;
    await ok(["ct", "exec", "web-lxc", "--", "sh", "-c", serve("hello from lxc", "/etc/init.d/rcS")]);
    await ok(["ct", "exec", "web-vz", "--", "sh", "-c", `echo '#!/bin/sh' > /etc/rc.local && ${serve("hello from openvz", "/etc/rc.local")}`]);
    await ok(["ct", "exec", LXD, "--", "sh", "-c", "mkdir -p /srv && echo 'hello from lxd' > /srv/index.html && echo '::respawn:/bin/httpd -f -p 80 -h /srv' >> /etc/inittab && httpd -p 80 -h /srv"]);

    const list = await cluster.json<CtJson[]>(["ct", "list"]);
    const addrs = WEBS.map((w) => list.find((c) => c.name === w.name)?.ipv4[0]);
    assert.ok(addrs.every((a) => a && /^10\.240\.\d+\.\d+$/.test(a)), JSON.stringify(list));
    assert.equal(new Set(addrs).size, WEBS.length);
    const table = (await ok(["ct", "list"])).stdout;
    assert.match(table, /^NAME\s+HOST\s+BACKEND\s+STATE\s+IPV4\s+/);
    assert.match(table, new RegExp(`^web-lxc\\s+host1\\s+lxc\\s+running\\s+${addrs[0]!.replace(/\./g, "\\.")}\\s`, "m"));
    assert.match((await ok(["ct", "show", "web-vz"])).stdout, new RegExp(`^Interfaces:\\s+eth0 ${addrs[2]!.replace(/\./g, "\\.")}/16$`, "m"));

    for (const [i, w] of WEBS.entries()) {
      assert.equal(await eventually(`${w.name} at its address`, async () => (await curlFrom(2, `http://${addrs[i]}/`)) || undefined), `${w.page}\n`);
      assert.equal(await curlFrom(2, `http://${hostIp(1)}:${w.port}/`), `${w.page}\n`, `${w.name} on host1:${w.port}`);
    }
    // Who holds what: both hosts' bridges and the four containers.
    const net = await cluster.json<{ pool: string; addresses: { address: string; kind: string; holder: string; host: string }[] }>(["network", "show"]);
    assert.equal(net.pool, "10.240.0.0/16");
    assert.deepEqual(net.addresses.filter((a) => a.kind === "host").map((a) => a.holder).sort(), ["host1", "host2"]);
    for (const [i, w] of WEBS.entries()) assert.deepEqual(net.addresses.find((a) => a.holder === w.name), { address: addrs[i], kind: "container", holder: w.name, host: "host1" });
  });

  test("after a migration each answers at the same address, and its port is on the new host", async () => {
    const before = await Promise.all(WEBS.map((w) => addressOf(w.name)));
    for (const w of WEBS) await ok(["ct", "migrate", w.name, "--to", "host2", "--stop-timeout", "2"]);
    for (const [i, w] of WEBS.entries()) {
      assert.equal(await addressOf(w.name), before[i], `${w.name} changed address`);
      // From the host it left: the overlay now carries it to host2.
      assert.equal(await eventually(`${w.name} at its address after the move`, async () => (await curlFrom(1, `http://${before[i]}/`)) || undefined), `${w.page}\n`);
      assert.equal(await eventually(`${w.name} on host2:${w.port}`, async () => (await curlFrom(1, `http://${hostIp(2)}:${w.port}/`)) || undefined), `${w.page}\n`);
      assert.equal(await curlFrom(2, `http://${hostIp(1)}:${w.port}/`), "", `${w.name}'s port stayed on host1`);
    }
  });

  test("a port already taken on the target stops a migration before anything moves", async () => {
    await ok(["ct", "create", "blocker", "--host", "host1", "--memory", "32M", "--cpus", "0.1", "--port", "18081:80", "--no-start"]);
    const r = await cluster.cli(["ct", "migrate", "web-lxc", "--to", "host1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /port 18081\/tcp is already published on host1 by container "blocker"/);
    const c = await cluster.json<CtJson>(["ct", "show", "web-lxc"]);
    assert.deepEqual([c.host, c.state], ["host2", "running"]);
    assert.equal(await curlFrom(1, `http://${hostIp(2)}:18081/`), "hello from lxc\n");
    // The same port on a create is refused as clearly.
    const dup = await cluster.cli(["ct", "create", "dup", "--host", "host1", "--port", "18081:80", "--no-start"]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /port 18081\/tcp is already published on host1 by container "blocker"/);
    await ok(["ct", "rm", "blocker"]);
  });
});

test("concurrent creates never share an address, and rm gives it back", async () => {
  const names = ["c1", "c2", "c3", "c4", "c5"];
  const made = await Promise.all(names.map((n) => cluster.cli(["ct", "create", n, "--memory", "16M", "--cpus", "0.05", "--no-start", "--json"])));
  for (const r of made) assert.equal(r.code, 0, r.stderr);
  const addrs = made.map((r) => (JSON.parse(r.stdout) as CtJson).ipv4[0]);
  assert.equal(new Set(addrs).size, names.length, addrs.join(" "));
  await Promise.all(names.map((n) => ok(["ct", "rm", n])));
  const net = await cluster.json<{ addresses: { address: string }[] }>(["network", "show"]);
  assert.ok(!net.addresses.some((a) => addrs.includes(a.address)), "rm left an address held");
});
