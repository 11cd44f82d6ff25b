// @test-lane own (LXC only, no Docker, no LXD: everything it uses is named by its cluster slot)
// Cross-host stories on real LXC: two emulated hosts (network namespaces), a real controller with a
// SQLite file, NATS in a container, real agents talking gRPC over the hosts' own addresses.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, StringCodec } from "nats";
import { ControllerClient, type Container, type Host, type MigrationUpdate } from "@corral/wire";
import { TestCluster, eventually } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 1, lxd: false });

interface CtJson {
  name: string;
  host: string;
  backend: string;
  state: string;
}

before(async () => {
  await cluster.up();
});
after(async () => {
  await cluster.down();
});

describe("an operator moves a container between hosts", () => {
  test("the hosts registered with their backends and resources", async () => {
    const hosts = await cluster.json<(Host & { backends: string[] })[]>(["host", "list"]);
    assert.deepEqual(hosts.map((h) => [h.name, h.state]), [["host1", "ready"], ["host2", "ready"]]);
    for (const h of hosts) {
      assert.ok(h.backends.includes("lxc"), `${h.name} backends ${JSON.stringify(h.backends)}`);
      assert.ok(h.cpus >= 1 && h.memoryBytes > 0);
      assert.match(h.address, /^10\.78\.1\.1[12]:/);
    }
  });

  test("create, write a file, migrate, read it back on the target; the source copy is gone", async () => {
    const nc = await connect({ servers: cluster.natsUrl });
    const sc = StringCodec();
    const subjects: string[] = [];
    const sub = nc.subscribe("corral.>", { callback: (_e, m) => subjects.push(`${m.subject} ${sc.decode(m.data)}`) });
    try {
      const created = await cluster.json<CtJson>(["ct", "create", "web1", "--memory", "128M", "--cpus", "1", "--host", "host1"]);
      assert.deepEqual([created.name, created.host, created.backend, created.state], ["web1", "host1", "lxc", "running"]);

      const w = await cluster.cli(["ct", "exec", "web1", "--", "sh", "-c", "echo carried-across > /root/note; chown 4321:8765 /root/note; sha256sum /root/note"]);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /^[0-9a-f]{64}  \/root\/note\n$/);

      const m = await cluster.cli(["ct", "migrate", "web1", "--to", "host2"]);
      assert.equal(m.code, 0, m.stderr);
      assert.match(m.stdout + m.stderr, /web1 migrated host1 → host2/);

      const shown = await cluster.json<CtJson>(["ct", "show", "web1"]);
      assert.deepEqual([shown.host, shown.state], ["host2", "running"]);
      const r = await cluster.cli(["ct", "exec", "web1", "--", "sh", "-c", "stat -c %u:%g /root/note; sha256sum /root/note"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `4321:8765\n${w.stdout}`);

      assert.deepEqual(cluster.lxcContainers("host1"), [], "the source copy must be removed");
      assert.deepEqual(cluster.lxcContainers("host2"), ["web1"]);
      assert.deepEqual(cluster.staging("host2"), []);

      const migrations = await cluster.json<{ phase: string; sha256: string; bytes: number }[]>(["migration", "list"]);
      assert.equal(migrations[0]?.phase, "done");
      assert.match(migrations[0]?.sha256 ?? "", /^[0-9a-f]{64}$/);

      await eventually("a migration event on NATS", async () => subjects.some((s) => s.startsWith("corral.migration.done")));
      assert.ok(subjects.some((s) => s.startsWith("corral.container.created")));
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });

  test("usage flows from the agents to `ct list`", async () => {
    const ct = await eventually("usage for web1", async () => {
      const list = await cluster.json<Container[]>(["ct", "list"]);
      const c = list.find((x) => x.name === "web1");
      return c?.usage && c.usage.memoryBytes > 0 ? c : undefined;
    });
    assert.ok(ct.usage!.pids >= 1);
    assert.equal(ct.usage!.memoryLimitBytes, 128 * 1024 * 1024);
  });
});

describe("bad input gets a clear error and changes nothing", () => {
  test("duplicate name, unknown host and a bad size", async () => {
    const before = await cluster.json<CtJson[]>(["ct", "list"]);
    const hostsBefore = await cluster.json<{ name: string; reservedMemoryBytes: number }[]>(["host", "list"]);

    const dup = await cluster.cli(["ct", "create", "web1"]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^corral: .*container "web1" already exists.*\n$/);

    const unknown = await cluster.cli(["ct", "create", "web9", "--host", "nowhere"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^corral: .*host "nowhere" not found.*\n$/);

    const lots = await cluster.cli(["ct", "create", "web9", "--memory", "lots"]);
    assert.equal(lots.code, 2);
    assert.equal(lots.stderr, 'corral: invalid memory "lots": expected a size such as 256M, 1G or 512MiB\n');

    const migrateNowhere = await cluster.cli(["ct", "migrate", "web1", "--to", "nowhere"]);
    assert.equal(migrateNowhere.code, 1);
    assert.match(migrateNowhere.stderr, /host "nowhere" not found/);

    const badName = await cluster.cli(["ct", "create", "Bad_Name"]);
    assert.notEqual(badName.code, 0);
    assert.match(badName.stderr, /invalid container name "Bad_Name"/);

    assert.deepEqual(await cluster.json<CtJson[]>(["ct", "list"]).then((l) => l.map((c) => [c.name, c.host, c.state])), before.map((c) => [c.name, c.host, c.state]));
    const hostsAfter = await cluster.json<{ name: string; reservedMemoryBytes: number }[]>(["host", "list"]);
    assert.deepEqual(hostsAfter.map((h) => h.reservedMemoryBytes), hostsBefore.map((h) => h.reservedMemoryBytes));
    assert.deepEqual(cluster.lxcContainers("host1"), []);
    assert.deepEqual(cluster.lxcContainers("host2"), ["web1"]);
  });
});

describe("the target agent dies in the middle of a transfer", () => {
  test("the container ends up running on the source, with no staging left on the target", async () => {
    await cluster.json(["ct", "create", "big1", "--host", "host1", "--memory", "256M"]);
    // Enough data that the transfer is still running when the kill lands.
    const fill = await cluster.cli(["ct", "exec", "big1", "--", "sh", "-c", "for i in 1 2 3 4 5 6; do head -c 67108864 /dev/urandom > /root/blob$i; done; cat /root/blob* | sha256sum"], { timeoutMs: 300_000 });
    assert.equal(fill.code, 0, fill.stderr);

    const client = new ControllerClient(cluster.controller, cluster.adminTls());
    let killed = false;
    let failure: Error | undefined;
    const seen: MigrationUpdate[] = [];
    try {
      for await (const u of client.migrate("big1", "host2", "none")) {
        seen.push(u);
        if (!killed && u.migration.phase === "transferring" && u.migration.bytes > 0) {
          await cluster.script("kill-agent", "host2");
          killed = true;
        }
      }
    } catch (err) {
      failure = err as Error;
    } finally {
      client.close();
    }
    assert.ok(killed, `never saw the transfer running: ${JSON.stringify(seen.map((u) => u.migration.phase))}`);
    assert.ok(failure, "the migration must fail");
    assert.match(failure.message, /rolled back/);

    const shown = await cluster.json<CtJson>(["ct", "show", "big1"]);
    assert.deepEqual([shown.host, shown.state], ["host1", "running"]);
    const sum = await cluster.cli(["ct", "exec", "big1", "--", "sh", "-c", "cat /root/blob* | sha256sum"], { timeoutMs: 120_000 });
    assert.equal(sum.stdout, fill.stdout);
    const migrations = await cluster.json<{ container: string; phase: string; error: string }[]>(["migration", "list", "--container", "big1"]);
    assert.equal(migrations[0]?.phase, "rolled_back");

    // The dead agent could not clean up; once it is back, nothing of the attempt remains on host2.
    await cluster.script("start-agent", "host2");
    await eventually("host2 ready again", async () => {
      const hosts = await cluster.json<{ name: string; state: string }[]>(["host", "list"]);
      return hosts.find((h) => h.name === "host2")?.state === "ready";
    });
    await eventually("no staging and no big1 on host2", async () => cluster.staging("host2").length === 0 && !cluster.lxcContainers("host2").includes("big1"));
    assert.deepEqual(cluster.lxcContainers("host1").sort(), ["big1"]);
  });

  test("a host whose agent stops reporting is marked down", async () => {
    await cluster.script("kill-agent", "host2");
    await eventually(
      "host2 down",
      async () => (await cluster.json<{ name: string; state: string }[]>(["host", "list"])).find((h) => h.name === "host2")?.state === "down",
      40_000,
    );
    const r = await cluster.cli(["ct", "migrate", "big1", "--to", "host2"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /host2 is down|not available|down/);
    await cluster.script("start-agent", "host2");
  });
});
