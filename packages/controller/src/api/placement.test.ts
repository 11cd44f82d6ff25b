// Placement and recording through group commit, on a real SQLite file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../store/store.js";
import { upsertHost } from "../store/hosts.js";
import { specOf } from "../test-support/scripted-agent.js";
import { placeAndRecord } from "./placement.js";

test("creates in one batch see each other: no overcommit, and a second create of one name is told it exists", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-placement-"));
  const store = Store.open(join(dir, "corral.db"));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const lxc = [{ name: "lxc", available: true, reason: "", capabilities: [] }];
  store.tx(() => upsertHost(store.db, { name: "h1", address: "a:1", cpus: 2, memoryBytes: 2 ** 30, diskBytes: 1, diskFreeBytes: 1, backends: lxc, agentVersion: "t" }, 1));
  const ctx = { store, settings: { algorithm: "binpack" as const, schedulerSeed: 1 } };
  const spec = (name: string) => ({ ...specOf(name), limits: { memoryBytes: 400 * 2 ** 20, cpus: 0.5 } });
  const results = await Promise.allSettled([
    placeAndRecord(ctx, { spec: spec("a") }, "running"),
    placeAndRecord(ctx, { spec: spec("a") }, "running"),
    placeAndRecord(ctx, { spec: spec("b") }, "running"),
    placeAndRecord(ctx, { spec: spec("c") }, "running"),
  ]);
  assert.deepEqual(
    results.map((r) => (r.status === "fulfilled" ? r.value.host : (r.reason as { code: string }).code)),
    ["h1", "already_exists", "h1", "resource_exhausted"],
  );
  const rows = store.db.prepare("SELECT container, memory_bytes FROM reservations ORDER BY container").all();
  assert.deepEqual(rows, [
    { container: "a", memory_bytes: 400 * 2 ** 20 },
    { container: "b", memory_bytes: 400 * 2 ** 20 },
  ]);
  assert.equal(store.state.host("h1")?.reservedMemoryBytes, 800 * 2 ** 20);
});
