// Control over a running move, against a real controller, SQLite file and scripted agents over gRPC.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CorralError, isCode } from "@corral/wire";
import { collect, startCluster, waitFor } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";

test("stop timeout and bwlimit reach the agents; the downtime is split; --keep-source keeps the source until finish", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  host1!.script = { chunks: 4, chunkBytes: 64 * 1024, chunkDelayMs: 20 };

  const { items, error } = await collect(cl.client.migrate("c1", "host2", { stopTimeoutSeconds: 7, bwlimitBytesPerSecond: 1_234_567, keepSource: true }));
  assert.equal(error, undefined);
  assert.deepEqual(host1!.stopTimeouts, [7]);
  assert.deepEqual(host1!.sendLimits, [1_234_567]);
  const m = items.at(-1)!.migration;
  assert.equal(m.phase, "done");
  assert.ok(m.finalSyncMs >= 80, `a cold move's final sync is the whole copy (4 × 20 ms), got ${m.finalSyncMs}`);
  assert.ok(m.stopMs >= 0 && m.startMs >= 0);
  assert.ok(m.downtimeMs >= m.stopMs + m.finalSyncMs + m.startMs, JSON.stringify(m));
  assert.equal(m.stopTimeoutSeconds, 7);
  assert.equal(m.sourceKept, true);
  assert.equal(host1!.containers.get("c1")?.state, "stopped", "the source is kept, stopped");
  assert.equal(host2!.containers.get("c1")?.state, "running");
  assert.ok(items.some((u) => u.migration.totalIsEstimate && u.migration.bytes <= u.migration.totalBytes));
  assert.ok(items.every((u) => u.migration.bytes <= u.migration.totalBytes || u.migration.totalBytes === 0));

  const finished = await cl.client.finishMigration(m.id);
  assert.equal(finished.sourceKept, false);
  assert.equal(host1!.containers.has("c1"), false);
  await assert.rejects(cl.client.finishMigration(m.id), (e: unknown) => isCode(e, "failed_precondition") && /kept no source copy/.test(String(e)));
  await assert.rejects(cl.client.finishMigration("m-nope"), (e: unknown) => isCode(e, "not_found"));
});

test("a stopped container moves stopped, with no downtime and no stop", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: false });
  const { items, error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.equal(error, undefined);
  const m = items.at(-1)!.migration;
  assert.deepEqual([m.phase, m.wasRunning, m.downtimeMs, m.stopMs, m.finalSyncMs, m.startMs], ["done", false, 0, 0, 0, 0]);
  assert.equal(host1!.calls.filter((c) => c.startsWith("stop ")).length, 0);
  assert.equal(host2!.containers.get("c1")?.state, "stopped");
  assert.equal((await cl.client.get("c1")).state, "stopped");
});

test("--detach answers with the planned migration; watchMigration re-attaches and follows it to done", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 6, chunkBytes: 64 * 1024, chunkDelayMs: 30 };
  const { items } = await collect(cl.client.migrate("c1", "host2", { detach: true }));
  assert.equal(items.length, 1);
  const id = items[0]!.migration.id;
  assert.match(id, /^m-[0-9a-f]{12}$/);
  const followed = await collect(cl.client.watchMigration(id, true));
  assert.equal(followed.error, undefined);
  assert.equal(followed.items.at(-1)?.migration.phase, "done");
  const once = await collect(cl.client.watchMigration(id, false));
  assert.deepEqual(once.items.map((u) => u.migration.phase), ["done"]);
  const missing = await collect(cl.client.watchMigration("m-000000000000", false));
  assert.ok(isCode(missing.error, "not_found"));
});

test("--dry-run checks and changes nothing; a down agent fails it naming the host", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const calls = cl.agents.host1!.calls.length;
  const { items, error } = await collect(cl.client.migrate("c1", "host2", { dryRun: true }));
  assert.equal(error, undefined);
  assert.deepEqual(items.map((u) => [u.migration.id, u.migration.phase, u.migration.targetHost]), [["", "planned", "host2"]]);
  assert.deepEqual(await cl.client.listMigrations("c1"), []);
  assert.equal(cl.agents.host1!.calls.length, calls, "the source was asked nothing that changes it");
  assert.equal((await cl.client.get("c1")).state, "running");
  cl.agents.host2!.close();
  const down = await collect(cl.client.migrate("c1", "host2", { dryRun: true }));
  assert.ok(down.error instanceof CorralError);
  assert.match(down.error.message, /pre-flight: host host2 does not answer/);
  assert.deepEqual(await cl.client.listMigrations("c1"), []);
});

test("blame: a failure the target answered with is the target's", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 8, chunkBytes: 64 * 1024, chunkDelayMs: 2 };
  cl.agents.host2!.script = { ...cl.agents.host2!.script, failReceiveAfterBytes: 128 * 1024 };
  const { error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.ok(error instanceof CorralError);
  const [m] = await cl.client.listMigrations("c1");
  assert.equal(m?.failedHost, "host2");
  await waitFor("source running again", async () => ((await cl.client.get("c1")).state === "running" ? true : undefined));
});
