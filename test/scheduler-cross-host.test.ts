// @test-lane own (LXC only, no Docker, no LXD: everything it uses is named by its cluster slot)
// Scheduler and maintenance through the real CLI on real LXC: three emulated hosts, a real
// controller and agents. Labels and constraints, cordon, anti-affinity, drain and restore with the
// containers' data checked by checksum after each move.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 3, slot: 6, lxd: false });
const SMALL = ["--memory", "32M", "--cpus", "0.1"];

interface CtJson {
  name: string;
  host: string;
  state: string;
}

before(async () => {
  await cluster.up();
});
after(async () => {
  await cluster.down();
});

async function hostOf(name: string): Promise<string> {
  return (await cluster.json<CtJson>(["ct", "show", name])).host;
}

async function checksum(name: string): Promise<string> {
  const r = await cluster.cli(["ct", "exec", name, "--", "sha256sum", "/root/data"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe("an operator steers placement and takes a host out for maintenance", () => {
  test("a constraint that cannot be met fails with a table naming the filter for every host", async () => {
    const l = await cluster.cli(["host", "label", "host1", "zone=eu"]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, "host1: zone=eu\n");
    const r = await cluster.cli(["ct", "create", "mars", ...SMALL, "--constraint", "zone=mars"]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^HOST\s+VERDICT\s+FILTER\s+REASON/);
    assert.match(lines[1] ?? "", /^host1\s+rejected\s+constraint\s+constraint zone=mars not met: host has zone=eu$/);
    assert.match(lines[2] ?? "", /^host2\s+rejected\s+constraint\s+constraint zone=mars not met: host has no label zone$/);
    assert.match(lines[3] ?? "", /^host3\s+rejected\s+constraint/);
    assert.match(lines[4] ?? "", /^corral: no host can run mars: /);
    assert.equal(lines.length, 5);
    const eu = await cluster.json<CtJson>(["ct", "create", "eu1", ...SMALL, "--constraint", "zone=eu"]);
    assert.equal(eu.host, "host1");
    const ex = await cluster.json<{ host: string | null; verdicts: { host: string; filter: string | null }[] }>([
      "ct", "create", "eu2", ...SMALL, "--constraint", "zone!=eu", "--dry-run", "--explain",
    ]);
    assert.ok(ex.host === "host2" || ex.host === "host3");
    assert.deepEqual(ex.verdicts.map((v) => [v.host, v.filter]).sort(), [["host1", "constraint"], ["host2", null], ["host3", null]]);
    assert.equal((await cluster.cli(["ct", "show", "eu2"])).code, 1, "a dry run creates nothing");
    assert.equal((await cluster.cli(["ct", "rm", "eu1", "--force"])).code, 0);
  });

  test("cordon keeps new containers off a host", async () => {
    assert.equal((await cluster.cli(["host", "cordon", "host2"])).stdout, "host2 is cordoned\n");
    for (const n of ["k1", "k2", "k3"]) {
      const c = await cluster.json<CtJson>(["ct", "create", n, ...SMALL, "--strategy", "spread"]);
      assert.notEqual(c.host, "host2", `${n} landed on the cordoned host`);
    }
    const pinned = await cluster.cli(["ct", "create", "k4", ...SMALL, "--host", "host2"]);
    assert.equal(pinned.code, 1);
    assert.match(pinned.stderr, /cannot place k4 on host2: host is cordoned/);
    assert.equal((await cluster.cli(["host", "uncordon", "host2"])).stdout, "host2 is ready\n");
    for (const n of ["k1", "k2", "k3"]) assert.equal((await cluster.cli(["ct", "rm", n, "--force"])).code, 0);
  });

  test("anti-affinity spreads a group over the hosts and refuses a member too many", async () => {
    const hosts = new Set<string>();
    for (const n of ["web1", "web2", "web3"]) hosts.add((await cluster.json<CtJson>(["ct", "create", n, ...SMALL, "--anti-affinity", "web"])).host);
    assert.deepEqual([...hosts].sort(), ["host1", "host2", "host3"]);
    const r = await cluster.cli(["ct", "create", "web4", ...SMALL, "--anti-affinity", "web"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split("\n").filter((l) => /^host\d\s+rejected\s+anti-affinity\s+already runs a member of anti-affinity group web$/.test(l)).length, 3);
    for (const n of ["web1", "web2", "web3"]) assert.equal((await cluster.cli(["ct", "rm", n, "--force"])).code, 0);
  });

  test("overcommit through the CLI: ratio 2 lets twice the memory in, and refuses beyond, naming the filter", async () => {
    interface HostShow { capacity: { memoryBytes: number }; reserved: { memoryBytes: number }; overcommit: number }
    const before = await cluster.json<HostShow>(["host", "show", "host3"]);
    const mem = before.capacity.memoryBytes;
    // Each asks for 60 % of the host's memory (whole MiB): one fits at ratio 1, three at ratio 2, four never.
    const ask = `${String(Math.floor((mem * 0.6) / 2 ** 20))}M`;
    assert.ok(before.reserved.memoryBytes < mem * 0.2, "host3 starts nearly empty");
    const big = (n: string) => cluster.cli(["ct", "create", n, "--memory", ask, "--host", "host3"]);
    assert.equal((await big("oc1")).code, 0);
    const once = await big("oc2");
    assert.equal(once.code, 1);
    assert.match(once.stderr, /^host3\s+rejected\s+memory\s+not enough memory: /m);

    const set = await cluster.cli(["host", "set", "host3", "overcommit=2"]);
    assert.equal(set.stdout, "host3: overcommit=2\n", set.stderr);
    for (const n of ["oc2", "oc3"]) {
      const r = await big(n);
      assert.equal(r.code, 0, r.stderr);
    }
    const after = await cluster.json<HostShow>(["host", "show", "host3"]);
    assert.equal(after.overcommit, 2);
    assert.ok(after.reserved.memoryBytes > mem * 1.75, `reserved ${after.reserved.memoryBytes} of ${mem}: beyond capacity`);
    const beyond = await big("oc4");
    assert.equal(beyond.code, 1);
    assert.match(beyond.stderr, /^host3\s+rejected\s+memory\s+not enough memory: .* free of .*, .* requested$/m);
    assert.equal((await cluster.cli(["ct", "show", "oc4"])).code, 1, "the refused container was not created");

    assert.equal((await cluster.cli(["host", "set", "host3", "overcommit=1"])).code, 0);
    for (const n of ["oc1", "oc2", "oc3"]) assert.equal((await cluster.cli(["ct", "rm", n, "--force"])).code, 0);
  });

  test("drain moves every container off a host with its data; restore brings them back", async () => {
    const sums = new Map<string, string>();
    for (const n of ["d1", "d2"]) {
      await cluster.json<CtJson>(["ct", "create", n, ...SMALL, "--host", "host1"]);
      const w = await cluster.cli(["ct", "exec", n, "--", "sh", "-c", `head -c 300000 /dev/urandom > /root/data; echo ${n} >> /root/data`]);
      assert.equal(w.code, 0, w.stderr);
      sums.set(n, await checksum(n));
    }
    const d = await cluster.cli(["host", "drain", "host1", "--parallel", "2", "--deadline", "5m"], { timeoutMs: 300_000 });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /d1: moving → host[23]/);
    assert.match(d.stdout, /drain of host1: 2 moved, 0 could not; host is drained\n$/);
    for (const n of ["d1", "d2"]) {
      assert.notEqual(await hostOf(n), "host1");
      assert.equal(await checksum(n), sums.get(n), `${n}'s data survived the drain`);
    }
    assert.deepEqual(cluster.lxcContainers("host1"), []);
    const hosts = await cluster.json<{ name: string; state: string }[]>(["host", "list"]);
    assert.equal(hosts.find((h) => h.name === "host1")?.state, "drained");
    const late = await cluster.cli(["ct", "create", "late", ...SMALL, "--host", "host1"]);
    assert.match(late.stderr, /host is draining/);

    const r = await cluster.cli(["host", "restore", "host1", "--json"], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { hostState: string; moved: { container: string; host: string }[]; failed: unknown[] };
    assert.deepEqual([report.hostState, report.moved.map((m) => m.container).sort(), report.failed], ["ready", ["d1", "d2"], []]);
    for (const n of ["d1", "d2"]) {
      const c = await cluster.json<CtJson>(["ct", "show", n]);
      assert.deepEqual([c.host, c.state], ["host1", "running"]);
      assert.equal(await checksum(n), sums.get(n), `${n}'s data came back`);
    }
    assert.deepEqual(cluster.lxcContainers("host1").sort(), ["d1", "d2"]);
  });
});
