import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "./store.js";
import { SCHEMA_STEPS } from "./schema.js";
import { countUnpublished, unpublishedEvents } from "./outbox.js";

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
