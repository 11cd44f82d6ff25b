// Tokens and roles as a person meets them: the real `corral` binary against a real controller on
// loopback (real gRPC, real SQLite), with the token from --token, $CORRAL_TOKEN or the config file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { issueAdminToken, startController, type RunningController } from "@corral/controller";
import { clusterPaths, initClusterPki } from "@corral/wire";
import { runCorral, type Run } from "./test-support/run-corral.js";

let dir: string;
let controller: RunningController;
let admin: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "corral-cli-tokens-"));
  const db = join(dir, "corral.db");
  // The cluster's CA, so the CLI verifies the controller; no client certificate, so tokens decide.
  await initClusterPki(dir);
  controller = await startController({ listen: "127.0.0.1:0", db, stateDir: dir, logger: pino({ level: "silent" }) });
  admin = issueAdminToken(db);
});
after(async () => {
  await controller.close();
  rmSync(dir, { recursive: true, force: true });
});

/** HOME is an empty directory unless the test writes a config; no token comes from outside. */
function corral(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCorral(["--controller", controller.address, ...args], { PATH: process.env.PATH ?? "", HOME: dir, CORRAL_CA: clusterPaths(dir).caCert, ...env });
}
const out = (r: Run) => r.stdout.toString("utf8");
const TOKEN_RE = /^corral_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

async function createToken(role: string, extra: string[] = []): Promise<{ id: string; token: string; role: string; expiresAt: string | null }> {
  const r = await corral(["token", "create", "--role", role, "--json", ...extra], { CORRAL_TOKEN: admin });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(out(r)) as { id: string; token: string; role: string; expiresAt: string | null };
}

test("without a token every command is refused with where a token comes from", async () => {
  for (const args of [["host", "list"], ["ct", "create", "web"], ["token", "list"]]) {
    const r = await corral(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr, "corral: permission denied: no credential (give --token, set CORRAL_TOKEN, or run corral cluster init)\n");
    assert.equal(out(r), "");
  }
});

test("token create --json prints { id, token, role, expiresAt } and nothing else", async () => {
  const t0 = Date.now();
  const doc = await createToken("read-only", ["--ttl", "2h"]);
  assert.deepEqual(Object.keys(doc), ["id", "token", "role", "expiresAt"]);
  assert.match(doc.token, TOKEN_RE);
  assert.equal(doc.token.slice(7, 19), doc.id);
  assert.equal(doc.role, "read-only");
  const expires = Date.parse(doc.expiresAt ?? "");
  assert.ok(Math.abs(expires - (t0 + 2 * 3_600_000)) < 5_000, `expiresAt ${doc.expiresAt}`);
  assert.equal((await createToken("admin")).expiresAt, null);
});

test("token create prints the token alone on its last line, and that token works", async () => {
  const r = await corral(["token", "create", "--role", "read-only"], { CORRAL_TOKEN: admin });
  assert.equal(r.code, 0, r.stderr);
  const lines = out(r).trimEnd().split("\n");
  const token = lines.at(-1) as string;
  assert.match(token, TOKEN_RE);
  assert.match(lines[0] as string, /^created read-only token [0-9a-f]{12}, never expires; it is shown only once:$/);
  const list = await corral(["host", "list", "--json", "--token", token]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(out(list)), []);
});

test("read-only can list and show, and a change is refused naming the role", async () => {
  const ro = (await createToken("read-only")).token;
  for (const args of [["host", "list"], ["ct", "list"], ["migration", "list"]]) {
    const r = await corral([...args, "--token", ro]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  }
  const show = await corral(["ct", "show", "nope", "--token", ro]);
  assert.equal(show.code, 1);
  assert.match(show.stderr, /not found/, "a read-only show reaches the controller's lookup");
  const cases: [string[], string][] = [
    [["ct", "create", "web"], "create containers"],
    [["ct", "stop", "web"], "stop containers"],
    [["ct", "rm", "web"], "remove containers"],
    [["ct", "exec", "web", "--", "id"], "exec in containers"],
    [["token", "create", "--role", "admin"], "create tokens"],
    [["token", "list"], "list tokens"],
  ];
  for (const [args, action] of cases) {
    // Before the noun: the value of a global flag is not taken for the noun or verb.
    const r = await corral(["--token", ro, ...args]);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr, `corral: permission denied: role read-only may not ${action}\n`);
  }
});

test("the token comes from --token, then CORRAL_TOKEN, then the config file", async () => {
  const ro = (await createToken("read-only")).token;
  const cfgDir = join(dir, "cfg");
  mkdirSync(cfgDir, { recursive: true });
  const config = join(cfgDir, "config.json");
  writeFileSync(config, JSON.stringify({ controller: controller.address, token: ro, ca: clusterPaths(dir).caCert }));
  const fromFile = await runCorral(["ct", "create", "web"], { PATH: process.env.PATH ?? "", HOME: dir, CORRAL_CONFIG: config });
  assert.equal(fromFile.stderr, "corral: permission denied: role read-only may not create containers\n");
  // The environment beats the file (admin reaches the scheduler, which has no host to offer).
  const fromEnv = await corral(["ct", "create", "web"], { CORRAL_CONFIG: config, CORRAL_TOKEN: admin });
  assert.match(fromEnv.stderr, /^corral: no host can run web/);
  // The flag beats both.
  const fromFlag = await corral(["ct", "create", "web", "--token", "corral_000000000000_" + "x".repeat(43)], { CORRAL_CONFIG: config, CORRAL_TOKEN: admin });
  assert.equal(fromFlag.stderr, "corral: permission denied: unknown token\n");
  assert.equal(fromFlag.code, 1);
  writeFileSync(config, JSON.stringify({ token: 42 }));
  const bad = await corral(["host", "list"], { CORRAL_CONFIG: config });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /"token" must be a string/);
});

test("token list and token revoke; a revoked token is refused", async () => {
  const victim = await createToken("read-only", ["--ttl", "30d"]);
  const before = await corral(["token", "list", "--json"], { CORRAL_TOKEN: admin });
  assert.equal(before.code, 0, before.stderr);
  const listed = (JSON.parse(out(before)) as { id: string; state: string; expiresAt: string | null }[]).find((t) => t.id === victim.id);
  assert.deepEqual([listed?.state, listed?.expiresAt], ["active", victim.expiresAt]);
  assert.ok(!out(before).includes(victim.token), "secrets are never listed");

  const rv = await corral(["token", "revoke", victim.id], { CORRAL_TOKEN: admin });
  assert.equal(rv.code, 0, rv.stderr);
  assert.match(out(rv), new RegExp(`^token ${victim.id} \\(read-only\\) revoked at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\n$`));
  const refused = await corral(["ct", "list", "--token", victim.token]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^corral: permission denied: token ${victim.id} was revoked at `));

  const table = await corral(["token", "list"], { CORRAL_TOKEN: admin });
  const row = out(table).split("\n").find((l) => l.startsWith(victim.id)) ?? "";
  assert.match(row, /^[0-9a-f]{12}\s+read-only\s+revoked\s+\S+Z\s+\S+Z\s+\S+Z$/);
  const missing = await corral(["token", "revoke", "nope"], { CORRAL_TOKEN: admin });
  assert.deepEqual([missing.code, missing.stderr], [1, 'corral: token "nope" not found\n']);
});

test("bad token flags are usage errors, caught before any call", async () => {
  const noRole = await corral(["token", "create"], { CORRAL_TOKEN: admin });
  assert.deepEqual([noRole.code, noRole.stderr], [2, "corral: missing --role (admin or read-only)\n"]);
  const badRole = await corral(["token", "create", "--role", "root"], { CORRAL_TOKEN: admin });
  assert.deepEqual([badRole.code, badRole.stderr], [2, 'corral: unknown role "root": expected admin or read-only\n']);
  const badTtl = await corral(["token", "create", "--role", "admin", "--ttl", "5"], { CORRAL_TOKEN: admin });
  assert.equal(badTtl.code, 2);
  assert.equal(badTtl.stderr, 'corral: invalid ttl "5": expected a positive number with a unit s, m, h, d or w, such as 12h or 30d\n');
});
