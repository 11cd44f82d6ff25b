import { test } from "node:test";
import assert from "node:assert/strict";
import { MIGRATION_DETAIL_DEFAULTS, type MigrationPhase, type MigrationUpdate } from "@corral/wire";
import { ProgressReporter, formatEta, formatPlainProgress, formatProgressLine, formatRate } from "./progress.js";
import { migrationSummary } from "./present.js";

const MiB = 1024 * 1024;

function update(phase: MigrationPhase, bytes: number, totalBytes: number, rate = 0, eta = -1): MigrationUpdate {
  return {
    migration: {
      id: "m1", container: "c1", sourceHost: "host1", targetHost: "host2", phase, bytes, totalBytes, error: "",
      startedUnixMs: 1_000, finishedUnixMs: 0, downtimeMs: 0, compression: "none", sha256: "", ...MIGRATION_DETAIL_DEFAULTS,
    },
    rateBytesPerSecond: rate,
    etaSeconds: eta,
  };
}

test("rate and ETA read like a person would write them", () => {
  assert.equal(formatRate(3.4 * MiB), "3.4 MiB/s");
  assert.equal(formatRate(0), "-- B/s");
  assert.equal(formatEta(3), "0:03");
  assert.equal(formatEta(62.2), "1:03");
  assert.equal(formatEta(3723), "1:02:03");
  assert.equal(formatEta(-1), "--:--");
});

test("the terminal line holds bar, bytes, rate, ETA and phase, and never exceeds the width", () => {
  const line = formatProgressLine(update("transferring", 1.2 * MiB, 2.4 * MiB, 3.4 * MiB, 0.4), 100);
  assert.match(line, /^\[#+-+\]  50%  1\.2 MiB \/ 2\.4 MiB  3\.4 MiB\/s  ETA 0:01  transferring$/);
  assert.ok(line.length < 100);
  const narrow = formatProgressLine(update("transferring", 1.2 * MiB, 2.4 * MiB, 3.4 * MiB, 0.4), 40);
  assert.ok(narrow.length <= 39, narrow);
  assert.match(formatProgressLine(update("planned", 0, 0), 80), /^\[-+\]  --%  0 B \/ \?  -- B\/s  ETA --:--  planned$/);
  assert.match(formatProgressLine(update("done", 10, 10), 80), /\[#+\] 100%/);
});

test("in a pipe: one line per phase, and at most one progress line every 2 s", () => {
  const out: string[] = [];
  let now = 0;
  const r = new ProgressReporter({ write: (s) => out.push(s), isTTY: false, columns: 80 }, () => now);
  r.update(update("planned", 0, 4 * MiB));
  r.update(update("source_stopped", 0, 4 * MiB));
  r.update(update("transferring", 0, 4 * MiB));
  for (let i = 1; i <= 40; i++) {
    now += 100; // 4 s of updates, 10 per second
    r.update(update("transferring", (i * 4 * MiB) / 40, 4 * MiB, MiB, (40 - i) / 10));
  }
  r.update(update("done", 4 * MiB, 4 * MiB));
  r.finish();
  assert.deepEqual(out, [
    "c1: planned (host1 → host2, compression none)\n",
    "c1: source_stopped\n",
    "c1: transferring\n",
    "c1: transferring 2.0 MiB / 4.0 MiB (50%), 1.0 MiB/s, ETA 0:02\n",
    "c1: transferring 4.0 MiB / 4.0 MiB (100%), 1.0 MiB/s, ETA 0:00\n",
    "c1: done\n",
  ]);
  assert.equal(formatPlainProgress(update("transferring", 512, 0)), "c1: transferring 512 B, -- B/s, ETA --:--");
});

test("a pre-copy names its live pass; a later pass, whose size is unknown, shows no total and no ETA", () => {
  const pass = (n: number, bytes: number, total: number, eta: number): MigrationUpdate => {
    const u = update("precopying", bytes, total, MiB, eta);
    return { ...u, migration: { ...u.migration, precopy: true, precopyPasses: n, totalIsEstimate: total > 0 } };
  };
  assert.match(formatProgressLine(pass(1, 2 * MiB, 8 * MiB, 6), 100), /25%  2\.0 MiB \/ ~8\.0 MiB  1\.0 MiB\/s  ETA 0:06  precopying \(pass 1\)$/);
  assert.match(formatProgressLine(pass(2, 9 * MiB, 0, -1), 100), / --%  9\.0 MiB \/ \?  1\.0 MiB\/s  ETA --:--  precopying \(pass 2\)$/);
  const out: string[] = [];
  let now = 0;
  const r = new ProgressReporter({ write: (s) => out.push(s), isTTY: false, columns: 80 }, () => now);
  r.update(update("precopying", 0, 0)); // the phase, before the first pass is counted
  r.update(pass(1, 0, 8 * MiB, -1));
  now += 2500;
  r.update(pass(1, 8 * MiB, 8 * MiB, -1));
  now += 100;
  r.update(pass(2, 8 * MiB, 0, -1));
  assert.deepEqual(out, [
    "c1: precopying\n",
    "c1: precopying (pass 1) 8.0 MiB / ~8.0 MiB (100%), 1.0 MiB/s, ETA --:--\n",
    "c1: precopying (pass 2)\n",
  ]);
});

test("on a terminal: one line redrawn with \\r, ended with a newline when finished", () => {
  const out: string[] = [];
  let now = 0;
  const r = new ProgressReporter({ write: (s) => out.push(s), isTTY: true, columns: 80 }, () => now);
  r.update(update("transferring", 0, 2 * MiB));
  now += 10;
  r.update(update("transferring", MiB, 2 * MiB)); // too soon: skipped
  now += 200;
  r.update(update("transferring", MiB, 2 * MiB));
  r.finish();
  assert.equal(out.length, 3);
  assert.ok(out.slice(0, 2).every((s) => s.startsWith("\r[") && s.endsWith("\x1b[K") && !s.includes("\n")));
  assert.equal(out[2], "\n");
});

test("the closing summary names hosts, size, time and downtime", () => {
  const u = update("done", 2.1 * MiB, 2.1 * MiB);
  u.migration.finishedUnixMs = 3_400;
  u.migration.downtimeMs = 2_300;
  assert.equal(migrationSummary(u.migration, 0), "c1 migrated host1 → host2: 2.1 MiB in 2.4 s (downtime 2.3 s)");
});
