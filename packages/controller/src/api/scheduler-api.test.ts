// Labels, constraints, anti-affinity, strategy, explain, cordon, drain and restore over the real
// gRPC API, a real controller and SQLite, and scripted agents.
import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { CorralError } from "@corral/wire";
import { collect, startCluster } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";

const small = (name: string) => ({ ...specOf(name), limits: { memoryBytes: 64 * 1024 ** 2, cpus: 0.25 } });

async function rejected(p: Promise<unknown>): Promise<CorralError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CorralError, String(err));
    return err;
  }
  assert.fail("expected a rejection");
}

test("labels and constraints: a constraint that cannot be met fails naming the filter of every host", async (t) => {
  const cl = await startCluster(["host1", "host2", "host3"]);
  t.after(() => cl.close());
  const h = await cl.client.labelHost("host2", { zone: "eu", disk: "ssd" }, []);
  assert.deepEqual(h.labels, { zone: "eu", disk: "ssd" });
  assert.deepEqual((await cl.client.labelHost("host2", {}, ["disk"])).labels, { zone: "eu" });
  await assert.rejects(cl.client.labelHost("host2", {}, ["nope"]), { code: "invalid_argument", message: "host host2 has no label nope (it has: zone)" });
  await assert.rejects(cl.client.labelHost("ghost", { a: "b" }, []), { code: "not_found" });

  for (let i = 0; i < 3; i++) {
    const c = await cl.client.create({ spec: small(`eu${i}`), host: "", start: true, constraints: ["zone=eu"] });
    assert.equal(c.host, "host2");
  }
  const c = await cl.client.create({ spec: small("noteu"), host: "", start: true, constraints: ["zone!=eu"], strategy: "spread" });
  assert.notEqual(c.host, "host2");

  const err = await rejected(cl.client.create({ spec: small("mars"), host: "", start: true, constraints: ["zone=mars"] }));
  assert.equal(err.code, "resource_exhausted");
  assert.match(err.message, /^no host can run mars: host1: constraint zone=mars not met/);
  assert.deepEqual(
    err.details.verdicts?.map((v) => [v.host, v.filter, v.reason]),
    [
      ["host1", "constraint", "constraint zone=mars not met: host has no label zone"],
      ["host2", "constraint", "constraint zone=mars not met: host has zone=eu"],
      ["host3", "constraint", "constraint zone=mars not met: host has no label zone"],
    ],
  );
  await assert.rejects(cl.client.get("mars"), { code: "not_found" });
  await assert.rejects(cl.client.create({ spec: small("x"), host: "", start: true, constraints: ["=eu"] }), { code: "invalid_argument" });
  await assert.rejects(cl.client.create({ spec: small("x"), host: "", start: true, strategy: "random" }), {
    code: "invalid_argument",
    message: 'strategy "random" is not one of binpack, spread',
  });
});

test("anti-affinity spreads a group and refuses a member too many; explain changes nothing", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const a = await cl.client.create({ spec: small("web1"), host: "", start: true, antiAffinity: "web" });
  const b = await cl.client.create({ spec: small("web2"), host: "", start: true, antiAffinity: "web" });
  assert.notEqual(a.host, b.host);

  const before = await cl.client.listHosts();
  const e = await cl.client.explainPlacement({ spec: small("web3"), host: "", antiAffinity: "web" });
  assert.equal(e.host, null);
  assert.deepEqual(e.verdicts.map((v) => [v.host, v.filter, v.reason]), [
    ["host1", "anti-affinity", "already runs a member of anti-affinity group web"],
    ["host2", "anti-affinity", "already runs a member of anti-affinity group web"],
  ]);
  const ok = await cl.client.explainPlacement({ spec: small("db1"), host: "" });
  assert.ok(ok.host);
  assert.ok(ok.verdicts.every((v) => v.filter === null && typeof v.score === "number"));
  assert.deepEqual(await cl.client.listHosts(), before, "explain changes no state");
  await assert.rejects(cl.client.get("db1"), { code: "not_found" });

  const err = await rejected(cl.client.create({ spec: small("web3"), host: "", start: true, antiAffinity: "web" }));
  assert.equal(err.details.verdicts?.length, 2);
  assert.ok(err.details.verdicts?.every((v) => v.filter === "anti-affinity"));
  // The seed and strategy of each placement are stored with the container.
  const db = new Database(cl.dbPath, { readonly: true });
  t.after(() => db.close());
  const rec = JSON.parse((db.prepare("SELECT placement FROM containers WHERE name = 'web1'").get() as { placement: string }).placement);
  assert.deepEqual([rec.seed, rec.strategy, rec.antiAffinity], [1, "binpack", "web"]);
});

test("the cluster strategy applies to creates that do not name one", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.setClusterSetting("strategy", "spread");
  const a = await cl.client.create({ spec: small("s1"), host: "", start: true });
  const b = await cl.client.create({ spec: small("s2"), host: "", start: true });
  assert.notEqual(a.host, b.host, "spread puts the second container on the emptier host");
  await assert.rejects(cl.client.setClusterSetting("strategy", "random"), { code: "invalid_argument" });
  await assert.rejects(cl.client.setClusterSetting("colour", "blue"), { code: "invalid_argument", message: 'unknown cluster setting "colour" (settings: strategy)' });
});

test("cordon keeps new containers off a host; uncordon lets them back", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  assert.equal((await cl.client.cordonHost("host1")).state, "cordoned");
  for (let i = 0; i < 4; i++) assert.equal((await cl.client.create({ spec: small(`c${i}`), host: "", start: true })).host, "host2");
  await assert.rejects(cl.client.create({ spec: small("pinned"), host: "host1", start: true }), {
    code: "failed_precondition",
    message: "cannot place pinned on host1: host is cordoned",
  });
  assert.equal((await cl.client.uncordonHost("host1")).state, "ready");
  assert.equal((await cl.client.create({ spec: small("pinned"), host: "host1", start: true })).host, "host1");
});

test("drain moves every container off a host, honouring anti-affinity; restore brings them back", async (t) => {
  const cl = await startCluster(["host1", "host2", "host3"]);
  t.after(() => cl.close());
  for (const n of ["a1", "a2"]) await cl.client.create({ spec: small(n), host: "host1", start: true, antiAffinity: n === "a1" ? "grp" : "" });
  await cl.client.create({ spec: small("g2"), host: "host2", start: true, antiAffinity: "grp" });
  const lines = await collect(cl.client.drainHost("host1", 2, 0));
  assert.equal(lines.error, undefined);
  const last = lines.items.at(-1);
  assert.deepEqual([last?.done, last?.hostState], [true, "drained"]);
  const moved = lines.items.filter((p) => p.status === "moved");
  assert.deepEqual(moved.map((p) => p.container).sort(), ["a1", "a2"]);
  assert.equal(moved.find((p) => p.container === "a1")?.targetHost, "host3", "a1 may not join g2 on host2");
  for (const n of ["a1", "a2"]) assert.notEqual((await cl.client.get(n)).host, "host1");
  assert.equal((await cl.client.listHosts()).find((h) => h.name === "host1")?.state, "drained");
  await assert.rejects(cl.client.create({ spec: small("late"), host: "host1", start: true }), { message: "cannot place late on host1: host is draining" });

  const back = await collect(cl.client.restoreHost("host1", 1));
  assert.equal(back.error, undefined);
  assert.deepEqual(back.items.filter((p) => p.status === "moved").map((p) => p.container).sort(), ["a1", "a2"]);
  for (const n of ["a1", "a2"]) {
    const c = await cl.client.get(n);
    assert.deepEqual([c.host, c.state], ["host1", "running"]);
  }
  assert.equal((await cl.client.listHosts()).find((h) => h.name === "host1")?.state, "ready");
});

test("a host's overcommit ratio lets placement promise capacity × ratio and never more", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const GiB = 1024 ** 3;
  const big = (name: string) => ({ ...specOf(name), limits: { memoryBytes: 2 * GiB, cpus: 0.5 } });
  // 4 GiB of memory: two 2 GiB containers fit, the third does not at 1.0 (the default).
  assert.equal((await cl.client.listHosts())[0]?.overcommit, 1);
  for (const n of ["a", "b"]) await cl.client.create({ spec: big(n), host: "", start: true });
  const full = await rejected(cl.client.create({ spec: big("c"), host: "", start: true }));
  assert.match(full.message, /not enough memory: 0 B free of 4\.0 GiB, 2\.0 GiB requested/);

  const h = await cl.client.setHostOvercommit("host1", 1.5);
  assert.equal(h.overcommit, 1.5);
  await cl.client.create({ spec: big("c"), host: "", start: true });
  const over = await rejected(cl.client.create({ spec: big("d"), host: "", start: true }));
  assert.equal(over.code, "resource_exhausted");
  assert.match(over.message, /not enough memory: 0 B free of 6\.0 GiB, 2\.0 GiB requested/);
  assert.equal((await cl.client.listHosts())[0]?.reservedMemoryBytes, 6 * GiB);

  await assert.rejects(cl.client.setHostOvercommit("host1", 0), { code: "invalid_argument", message: /must be a number above 0 and at most 10/ });
  await assert.rejects(cl.client.setHostOvercommit("host1", 15), { code: "invalid_argument" });
  await assert.rejects(cl.client.setHostOvercommit("ghost", 2), { code: "not_found" });
  // Lowering it moves nothing; it only keeps new containers off.
  assert.equal((await cl.client.setHostOvercommit("host1", 1)).reservedMemoryBytes, 6 * GiB);
  await rejected(cl.client.create({ spec: { ...specOf("e"), limits: { memoryBytes: 64 * 1024 ** 2, cpus: 0 } }, host: "", start: true }));
});
