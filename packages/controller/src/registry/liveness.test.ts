// Liveness against a real store: a silent host goes down; a stall of the controller's own loop is
// credited to every host instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { ControllerContext } from "../context.js";
import { Store } from "../store/store.js";
import { touchHost, upsertHost } from "../store/hosts.js";
import { checkLiveness } from "./liveness.js";

test("a host silent past the timeout goes down, unless the silence was the controller's own stall", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-liveness-"));
  const store = Store.open(join(dir, "corral.db"));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ctx = { store, log: pino({ level: "silent" }), settings: { heartbeatTimeoutMs: 10_000 } } as unknown as ControllerContext;
  const t0 = 1_000_000;
  store.tx(() => {
    for (const name of ["h1", "h2"]) upsertHost(store.db, { name, address: "a:1", cpus: 1, memoryBytes: 1, diskBytes: 1, diskFreeBytes: 1, backends: [], agentVersion: "t" }, t0);
  });
  touchHost(store.db, "h2", 1, t0 + 5_000);
  // 12 s after h1's last report, of which 4 s the controller's loop was stalled: not yet h1's fault.
  assert.deepEqual(checkLiveness(ctx, t0 + 12_000, 4_000), []);
  assert.deepEqual(checkLiveness(ctx, t0 + 12_000, 0), ["h1"]);
  assert.equal(store.state.host("h1")?.state, "down");
  assert.equal((store.db.prepare("SELECT state FROM hosts WHERE name = 'h1'").get() as { state: string }).state, "down");
  assert.equal(store.state.host("h2")?.state, "ready");
  // Its next report brings it back, in memory and in SQLite.
  assert.equal(touchHost(store.db, "h1", 1, t0 + 13_000), true);
  assert.equal((store.db.prepare("SELECT state FROM hosts WHERE name = 'h1'").get() as { state: string }).state, "ready");
});
