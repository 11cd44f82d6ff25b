import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "./config.js";

test("flags, defaults, and a JSON config file that flags override", (t) => {
  assert.deepEqual(parseConfig(["--db", "/x.db"]), {
    listen: "0.0.0.0:7400",
    db: "/x.db",
    stateDir: "/",
    nats: undefined,
    reportIntervalMs: 2000,
    heartbeatTimeoutMs: 10000,
    logLevel: "info",
    scheduler: "binpack",
    issueAdminToken: false,
    networkPool: "10.240.0.0/16",
    networkVni: 4242,
    networkMtu: 1450,
  });
  const dir = mkdtempSync(join(tmpdir(), "corral-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ db: "/f.db", nats: "nats://n:4222", heartbeatTimeoutMs: 5000, listen: "127.0.0.1:1" }));
  const cfg = parseConfig(["--config", file, "--listen", "127.0.0.1:17400"]);
  assert.ok(cfg !== "help");
  assert.deepEqual([cfg.db, cfg.nats, cfg.heartbeatTimeoutMs, cfg.listen], ["/f.db", "nats://n:4222", 5000, "127.0.0.1:17400"]);
  assert.throws(() => parseConfig([]), { code: "invalid_argument", message: "--db is required" });
  assert.throws(() => parseConfig(["--db", "x", "--report-interval-ms", "soon"]), /invalid --report-interval-ms "soon"/);
  assert.equal(parseConfig(["--help"]), "help");
});
