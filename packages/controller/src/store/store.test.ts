import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "./store.js";
import { SCHEMA_STEPS } from "./schema.js";
import { countUnpublished, unpublishedEvents } from "./outbox.js";
import { upsertHost } from "./hosts.js";
import { insertContainer, recordMentioned, recordUsage, setContainerState } from "./containers.js";

test("a new file gets WAL, foreign keys and the latest schema; reopening applies nothing twice", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-store-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "corral.db");
  const s1 = Store.open(path);
  assert.equal(s1.db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(s1.db.pragma("foreign_keys", { simple: true }), 1);
  assert.equal(s1.db.pragma("user_version", { simple: true }), SCHEMA_STEPS.length);
  s1.close();
  const s2 = Store.open(path);
  assert.equal(s2.db.pragma("user_version", { simple: true }), SCHEMA_STEPS.length);
  s2.close();
});

test("an event commits with its change or not at all, and listeners hear only commits", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-store-"));
  const store = Store.open(join(dir, "corral.db"));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let heard = 0;
  store.onEvent(() => heard++);
  assert.throws(() => store.emit("corral.x", {}), /outside a transaction/);
  assert.throws(() =>
    store.tx(() => {
      store.emit("corral.host.up", { host: "h1" });
      throw new Error("the change failed");
    }),
  );
  assert.equal(countUnpublished(store.db), 0);
  assert.equal(heard, 0);
  store.tx(() => store.emit("corral.host.up", { host: "h1" }));
  assert.equal(heard, 1);
  assert.deepEqual(unpublishedEvents(store.db, 10).map((e) => [e.id, e.subject, e.payload]), [[1, "corral.host.up", '{"host":"h1"}']]);
});

test("a report whose usage was shed still counts as naming the containers managed on its host, and only those", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-store-"));
  const store = Store.open(join(dir, "corral.db"));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const spec = (name: string) => ({ name, backend: "lxc" as const, template: "busybox", image: "", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {} });
  store.tx(() => {
    for (const name of ["h1", "h2"]) upsertHost(store.db, { name, address: "a:1", cpus: 1, memoryBytes: 1, diskBytes: 1, diskFreeBytes: 1, backends: [], agentVersion: "t" }, 1);
    insertContainer(store.db, spec("a"), "h1", "running", 1);
    insertContainer(store.db, spec("b"), "h2", "running", 1);
    setContainerState(store.db, "a", "stopped");
  });
  const usage = { name: "a", backend: "lxc" as const, state: "running" as const, cpuNanos: 7, cpuPercent: 1, memoryBytes: 1, memoryLimitBytes: 0, pids: 1, blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0 };
  recordUsage(store.db, "h1", usage, 100);
  recordMentioned(store.db, "h1", [{ name: "a" }, { name: "b" }, { name: "ghost" }], 200);
  assert.equal(store.state.lastReportOf("a"), 200);
  // b lives on h2: h1 naming it says nothing about it; a name nobody manages is not recorded.
  assert.equal(store.state.lastReportOf("b"), undefined);
  assert.equal(store.state.lastReportOf("ghost"), undefined);
  // The usage and the state stay those of the last report taken.
  assert.equal(store.state.usageOf("a")?.cpuNanos, 7);
  assert.equal(store.state.container("a")?.state, "running");
});
