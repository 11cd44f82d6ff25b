// Control over a running move, as a user runs it: the real binary against a scripted controller.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATION_DETAIL_DEFAULTS, type Migration, type MigrationUpdate } from "@corral/wire";
import { ControllerDouble, sampleContainer, sampleHost, serveDouble } from "./test-support/controller-double.js";
import { runCorral, type Run } from "./test-support/run-corral.js";
import { containerRow } from "./present.js";
import { formatProgressLine, formatPlainProgress } from "./progress.js";

const MiB = 1024 * 1024;
let double: ControllerDouble;
let server: { address: string; tlsEnv: Record<string, string>; close(): Promise<void> };
let home: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "corral-cli-migrate-"));
  double = new ControllerDouble();
  double.hosts = [sampleHost("host1", "10.77.0.11:7401"), sampleHost("host2", "10.77.0.12:7401")];
  double.containers.set("c1", sampleContainer("c1", "host1"));
  server = await serveDouble(double);
});
after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const corral = (args: string[]): Promise<Run> =>
  runCorral(["--controller", server.address, ...args], { PATH: process.env.PATH ?? "", HOME: home, ...server.tlsEnv });

function migration(over: Partial<Migration> = {}): Migration {
  return {
    id: "m-abc", container: "c1", sourceHost: "host1", targetHost: "host2", phase: "done", bytes: 2 * MiB, totalBytes: 2 * MiB,
    error: "", startedUnixMs: 10_000, finishedUnixMs: 14_000, downtimeMs: 3_100, compression: "none", sha256: "",
    ...MIGRATION_DETAIL_DEFAULTS, stopMs: 1_000, finalSyncMs: 1_500, startMs: 400, ...over,
  };
}
const update = (m: Migration, eta = -1): MigrationUpdate => ({ migration: m, rateBytesPerSecond: 0, etaSeconds: eta });

test("ct migrate passes every option, and --detach prints the id at once with how to follow it", async () => {
  double.migrationScript = [update(migration({ phase: "planned", id: "m-abc" })), update(migration())];
  const r = await corral(["ct", "migrate", "c1", "--to", "host2", "--detach", "--stop-timeout", "0", "--bwlimit", "50M", "--keep-source"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "m-abc\n");
  assert.match(r.stderr, /migration m-abc of c1 runs on; follow it: corral migration show m-abc --follow/);
  assert.deepEqual(double.migrateOptions, {
    compression: "none", stopTimeoutSeconds: 0, detach: true, dryRun: false, keepSource: true, bwlimitBytesPerSecond: 50 * MiB,
  });
});

test("ct migrate rejects a bad --stop-timeout and --bwlimit before calling anyone", async () => {
  const before = double.calls.length;
  const t = await corral(["ct", "migrate", "c1", "--to", "host2", "--stop-timeout", "-3"]);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /invalid timeout "-3"/);
  const b = await corral(["ct", "migrate", "c1", "--to", "host2", "--bwlimit", "fast"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /bwlimit/);
  assert.equal(double.calls.length, before);
});

test("ct migrate --dry-run says what would happen and that nothing changed", async () => {
  double.migrationScript = [update(migration({ phase: "planned", id: "", wasRunning: false }))];
  const r = await corral(["ct", "migrate", "c1", "--to", "host2", "--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "dry run: c1 can move host1 → host2 (stopped: it stays stopped, no downtime); nothing was changed\n");
  assert.equal(double.migrateOptions?.dryRun, true);
});

test("migration show prints the downtime split; --json carries downtimeMs, stopMs, finalSyncMs and startMs", async () => {
  double.migrationScript = [update(migration())];
  const r = await corral(["migration", "show", "m-abc"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.toString("utf8"), /^downtime: +3\.1 s \(stop 1\.0 s, final sync 1\.5 s, start 0\.4 s\)$/m);
  const j = await corral(["migration", "show", "m-abc", "--json"]);
  const doc = JSON.parse(j.stdout.toString("utf8"));
  assert.deepEqual([doc.id, doc.downtimeMs, doc.stopMs, doc.finalSyncMs, doc.startMs], ["m-abc", 3_100, 1_000, 1_500, 400]);
  assert.deepEqual(double.calls.findLast((c) => c.method === "watchMigration")?.args, ["m-abc", false]);
});

test("migration show --follow re-attaches and ends with the same summary as ct migrate", async () => {
  double.migrationScript = [
    update(migration({ phase: "transferring", bytes: MiB, totalIsEstimate: true })),
    update(migration({ phase: "done" })),
  ];
  const r = await corral(["migration", "show", "m-abc", "--follow"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /c1: transferring/);
  assert.match(r.stdout.toString("utf8"), /^phase: +done$/m);
  assert.deepEqual(double.calls.findLast((c) => c.method === "watchMigration")?.args, ["m-abc", true]);
});

test("a stopped container's migration reports no downtime", async () => {
  double.migrationScript = [update(migration({ wasRunning: false, downtimeMs: 0, stopMs: 0, finalSyncMs: 0, startMs: 0 }))];
  const r = await corral(["migration", "show", "m-abc"]);
  assert.match(r.stdout.toString("utf8"), /^downtime: +none \(the container was stopped and stays stopped\)$/m);
});

test("migration finish removes the kept source and says so", async () => {
  double.migrationScript = [update(migration({ sourceKept: true }))];
  const r = await corral(["migration", "finish", "m-abc"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "removed the kept copy of c1 on host1; migration m-abc is finished\n");
});

test("ct list --drift lists what hosts run unmanaged; a down host's container is unknown with its age", async () => {
  double.drift = [sampleContainer("stray", "host2", { state: "running", lastReportUnixMs: Date.now() - 5_000 })];
  const r = await corral(["ct", "list", "--drift"]);
  assert.equal(r.code, 0, r.stderr);
  const seen = /^stray\s+host2\s+lxc\s+running\s+(\d+)s ago$/m.exec(r.stdout.toString("utf8"));
  assert.ok(seen, r.stdout.toString("utf8"));
  // 5 s old when listed, plus however long the CLI took to start on a busy machine.
  assert.ok(Number(seen[1]) >= 5 && Number(seen[1]) < 60, seen[0]);
  const row = containerRow(sampleContainer("c9", "host3", { state: "unknown", lastReportUnixMs: Date.now() - 42_000 }));
  assert.equal(row[3], "unknown (42s)");
});

test("progress: stopping shows its seconds, an estimated total is marked, bytes never pass the total, no made-up ETA", () => {
  const stopping = migration({ phase: "source_stopped", phaseStartedUnixMs: 1_000 });
  assert.match(formatProgressLine(update(stopping), 120, 13_400), /ETA --:--  stopping \(12s\)$/);
  const over = migration({ phase: "transferring", bytes: 3 * MiB, totalBytes: 2 * MiB, totalIsEstimate: true });
  assert.equal(formatPlainProgress(update(over)), "c1: transferring 3.0 MiB / ~3.0 MiB (100%), -- B/s, ETA --:--");
});
