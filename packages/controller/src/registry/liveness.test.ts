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
import { checkLiveness, RestartGrace, SLOWEST_REGISTRATION_MS_PER_HOST, StallCredit } from "./liveness.js";

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

test("a stall is credited until every live host has had one report interval to be heard again, no longer", () => {
  const credit = new StallCredit(6_000); // a 5 s report interval and a 1 s tick
  assert.equal(credit.at(1_000), 0);
  credit.stalled(4_000, 10_000);
  assert.equal(credit.at(10_000), 4_000);
  assert.equal(credit.at(15_999), 4_000);
  // A host that really stopped is judged on its own silence once the window has passed.
  assert.equal(credit.at(16_000), 0);
  // Stalls within one window: the worst counts, and the window runs from the latest.
  credit.stalled(3_000, 20_000);
  credit.stalled(1_000, 22_000);
  assert.equal(credit.at(27_999), 3_000);
  assert.equal(credit.at(28_000), 0);
  // A stall after the window closed starts afresh: the old worst is not carried over.
  credit.stalled(700, 40_000);
  assert.equal(credit.at(40_000), 700);
});

test("a restarted controller judges no host while the cluster still re-registers, however slowly, and a silent one soon after", () => {
  const timeout = 10_000;
  // 5,000 hosts re-registering at 10/s (the slowest bench:heartbeats measured) take 500 s; the
  // grace sized at 5 ms per host ended after 35 s, marking 4,750 live hosts down.
  const grace = new RestartGrace(0, timeout, 5_000);
  assert.equal(grace.over(timeout + 5_000 * 5, 0), false);
  // Nobody heard yet: the slowest rate measured is assumed.
  assert.equal(grace.endsAt, timeout + 5_000 * SLOWEST_REGISTRATION_MS_PER_HOST);
  let heard = 0;
  for (let t = 1_000; heard < 4_999; t += 100) assert.equal(grace.over(t, ++heard), false, `over at ${t} ms with ${heard} heard`);
  // One host never comes: judged one timeout (plus its share at the rate seen) after the last arrived.
  const last = 1_000 + 4_998 * 100;
  assert.equal(grace.over(last + timeout - 1, heard), false);
  assert.equal(grace.over(last + timeout + 100, heard), true);
  assert.equal(grace.done, true);
  assert.equal(grace.over(last + timeout + 200, 0), true, "once over, it stays over");

  // Fast registrations measure a fast rate: 5,000 at 1,000/s, one missing, judged ~one timeout after.
  const fast = new RestartGrace(0, timeout, 5_000);
  assert.equal(fast.over(5_000, 4_999), false);
  assert.ok(fast.endsAt <= 5_000 + timeout + 2, `ends at ${fast.endsAt}`);
  assert.equal(fast.over(5_000 + timeout + 2, 4_999), true);

  // Every known host heard: nothing left to wait for.
  const all = new RestartGrace(0, timeout, 3);
  assert.equal(all.over(2_000, 3), true);
  // A controller that knew no host judges from the start (hosts that register are fresh).
  assert.equal(new RestartGrace(0, timeout, 0).over(0, 0), true);
});
