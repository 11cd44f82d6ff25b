// The migration state machine against a real controller, a real SQLite file and scripted agents
// over real gRPC (source streams straight to target).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { CorralError } from "@corral/wire";
import { collect, startCluster, waitFor } from "../test-support/cluster.js";
import { ScriptedAgent, specOf } from "../test-support/scripted-agent.js";
import { phasesOf } from "./phase-table.js";

const MiB = 1024 ** 2;

test("a running container moves: every phase of a cold move in order, target runs, source deleted, downtime recorded", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });

  const { items, error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.equal(error, undefined);
  const phases = items.map((u) => u.migration.phase).filter((p, i, a) => p !== a[i - 1]);
  assert.deepEqual(phases, phasesOf({ precopy: false }));
  assert.ok(items.some((u) => u.migration.phase === "transferring" && u.migration.bytes > 0), "progress was reported");
  const last = items.at(-1)?.migration;
  assert.equal(last?.bytes, 4 * 64 * 1024);
  assert.match(last?.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.ok((last?.downtimeMs ?? 0) > 0);

  const c = await cl.client.get("c1");
  assert.equal(c.host, "host2");
  assert.equal(c.state, "running");
  assert.equal(host2?.containers.get("c1")?.state, "running");
  assert.equal(host1?.containers.has("c1"), false);
  const hosts = await cl.client.listHosts();
  assert.deepEqual(
    hosts.map((h) => [h.name, h.reservedMemoryBytes, h.containers]),
    [["host1", 0, 0], ["host2", 256 * MiB, 1]],
  );
  const [m] = await cl.client.listMigrations("c1");
  assert.equal(m?.phase, "done");
  assert.equal(m?.error, "");
});

test("the target fails during transfer: rolled back, source restarted, target staging aborted", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  host1!.script = { chunks: 8, chunkBytes: 64 * 1024, chunkDelayMs: 2 };
  host2!.script = { ...host2!.script, failReceiveAfterBytes: 128 * 1024 };

  const { items, error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.ok(error instanceof CorralError);
  assert.equal(error.code, "aborted");
  assert.match(error.message, /^migration of c1 to host2 failed: transferring: .*disk full on host2 \(scripted\).*; rolled back, c1 runs on host1$/);
  assert.ok(items.some((u) => u.migration.phase === "rolling_back"));

  assert.deepEqual(host1!.calls.filter((c) => /^(stop|start) /.test(c)), ["start c1", "stop c1", "start c1"]);
  assert.ok(host2!.calls.includes("abortReceive c1"));
  assert.equal(host1!.containers.get("c1")?.state, "running");
  assert.equal(host2!.containers.has("c1"), false);
  const c = await cl.client.get("c1");
  assert.deepEqual([c.host, c.state], ["host1", "running"]);
  const [m] = await cl.client.listMigrations("c1");
  assert.equal(m?.phase, "rolled_back");
  const h2 = (await cl.client.listHosts()).find((h) => h.name === "host2");
  assert.equal(h2?.reservedMemoryBytes, 0, "the migration's reservation on the target is released");
});

test("the target refuses to prepare: the source is never stopped and nothing of the target's is removed", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  host2!.containers.set("c1", { spec: specOf("c1"), state: "running" }); // a stranger's container of that name

  const { error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.ok(error instanceof CorralError);
  assert.equal(error.message, 'migration of c1 to host2 failed: target_reserved: container "c1" already exists on host2; rolled back, c1 runs on host1');
  assert.deepEqual(host1!.calls.filter((c) => /^(stop|start) /.test(c)), ["start c1"]);
  assert.ok(host2!.calls.includes("abortReceive c1"));
  assert.equal(host2!.containers.get("c1")?.state, "running", "the target's own container is left alone");
  const c = await cl.client.get("c1");
  assert.deepEqual([c.host, c.state], ["host1", "running"]);
  assert.equal((await cl.client.listHosts()).find((h) => h.name === "host2")?.reservedMemoryBytes, 0);
});

test("a source that cannot be removed is left pending, and removed when its host registers again", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  let release!: () => void;
  cl.agents.host2!.script = { ...cl.agents.host2!.script, holdStart: new Promise<void>((r) => (release = r)) };
  const run = collect(cl.client.migrate("c1", "host2", "none"));
  await waitFor("start asked on the target", () => (cl.agents.host2!.calls.includes("start c1") ? true : undefined));
  cl.agents.host1!.close(); // the source host vanishes before its copy is removed
  release();
  const { error } = await run;
  assert.equal(error, undefined, "the container runs on the target, so the migration is done");
  const [m] = await cl.client.listMigrations("c1");
  assert.equal(m?.phase, "done");
  assert.match(m?.error ?? "", /^warning: the copy on host1 could not be removed \(.+\); retried when host1 registers$/);

  const reborn = await ScriptedAgent.start("host1", cl.agents.host1!.tls);
  reborn.containers.set("c1", { spec: specOf("c1"), state: "stopped" });
  cl.agents.host1 = reborn;
  await cl.register(reborn);
  await waitFor("the old copy deleted", () => (reborn.containers.has("c1") ? undefined : true));
  assert.ok(reborn.calls.includes("remove c1"));
  assert.deepEqual([(await cl.client.get("c1")).host, cl.agents.host2!.containers.get("c1")?.state], ["host2", "running"]);
});

test("a failed migration can be retried and then succeeds", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: false });
  cl.agents.host2!.script = { ...cl.agents.host2!.script, failReceiveAfterBytes: 1 };
  const first = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.match(String((first.error as Error).message), /rolled back, c1 is stopped on host1$/);
  delete cl.agents.host2!.script.failReceiveAfterBytes;
  const second = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.equal(second.error, undefined);
  const c = await cl.client.get("c1");
  assert.deepEqual([c.host, c.state], ["host2", "stopped"]);
  assert.equal(cl.agents.host2!.calls.includes("start c1"), false, "a stopped container stays stopped");
});

test("validation refuses with clear errors and changes nothing", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const err = async (target: string, name = "c1") => (await collect(cl.client.migrate(name, target, "none"))).error as CorralError;
  assert.deepEqual(pick(await err("host1")), ["failed_precondition", 'container "c1" is already on host1']);
  assert.deepEqual(pick(await err("nope")), ["not_found", 'host "nope" not found (known: host1, host2)']);
  assert.deepEqual(pick(await err("host2", "ghost")), ["not_found", 'container "ghost" not found']);
  assert.deepEqual(await cl.client.listMigrations(), []);
  assert.equal((await cl.client.get("c1")).state, "running");
});

test("while a migration runs the container is busy for other operations", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 20, chunkBytes: 16 * 1024, chunkDelayMs: 25 };
  const run = collect(cl.client.migrate("c1", "host2", "none"));
  await waitFor("transferring", async () => (await cl.client.listMigrations("c1"))[0]?.phase === "transferring" || undefined);
  await assert.rejects(cl.client.stop("c1", 1), { code: "failed_precondition", message: 'container "c1" is busy (migrating)' });
  await assert.rejects(cl.client.remove("c1", true), { message: 'container "c1" is busy (migrating)' });
  const again = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.equal((again.error as CorralError).message, 'container "c1" is busy (migrating)');
  assert.equal((await run).error, undefined);
});

test("the caller going away does not stop the migration", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 10, chunkBytes: 16 * 1024, chunkDelayMs: 20 };
  for await (const u of cl.client.migrate("c1", "host2", "none")) {
    if (u.migration.phase === "transferring") break; // cancels the call
  }
  const done = await waitFor("done", async () => (await cl.client.listMigrations("c1"))[0]?.phase === "done" || undefined);
  assert.ok(done);
  assert.equal((await cl.client.get("c1")).host, "host2");
});

const pick = (e: CorralError) => [e.code, e.message];

test("the transfer token is never stored: corral.db keeps only its SHA-256", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const { error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.equal(error, undefined);
  const [token] = cl.agents.host2!.tokensSeen;
  assert.match(token ?? "", /^[0-9a-f]{64}$/);
  const db = new Database(cl.dbPath, { readonly: true });
  const rows = db.prepare("SELECT * FROM migrations").all() as Record<string, unknown>[];
  const dump = JSON.stringify(db.prepare("SELECT * FROM migrations").all()) + JSON.stringify(db.prepare("SELECT * FROM events").all());
  db.close();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.token, createHash("sha256").update(token!).digest("hex"));
  assert.ok(!dump.includes(token!), "the token itself is nowhere in the database");
});
