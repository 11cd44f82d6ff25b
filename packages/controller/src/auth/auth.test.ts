// People's tokens against a real controller: real gRPC on loopback, real SQLite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { ControllerClient } from "@corral/wire";
import { collect, startCluster } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";
import { Store } from "../store/store.js";
import { issueToken, revokeToken, verifyToken } from "./token-store.js";

test("anonymous calls are refused on every kind of RPC, and change nothing", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const anon = new ControllerClient(cl.controller.address, { ca: cl.admin.ca });
  t.after(() => anon.close());
  const noCredential = { code: "unauthenticated", message: /^permission denied: no credential: ControllerService\.\w+ needs a bearer token or a client certificate/ };
  await assert.rejects(anon.listHosts(), noCredential);
  await assert.rejects(anon.create({ spec: specOf("c2"), host: "", start: false }), noCredential);
  const exec = await collect(anon.exec("c1", ["id"]));
  assert.deepEqual(exec.items, []);
  assert.equal((exec.error as { code?: string }).code, "unauthenticated");
  assert.match((exec.error as Error).message, /^permission denied: no credential: ControllerService\.execContainer needs a bearer token/);
  const imported = anon.importImage(
    (async function* () {
      yield { kind: "header" as const, header: { name: "x:1", backend: "docker" as const, hosts: [], sizeBytes: 1 } };
    })(),
  );
  await assert.rejects(imported, noCredential);
  // Nothing changed behind the refusals.
  assert.deepEqual((await cl.client.list()).map((c) => c.name), ["c1"]);
  assert.equal(cl.agents.host1?.calls.some((c) => c.startsWith("exec")), false);
});

test("a read-only token lists and shows, and is refused every change with its role named", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const issued = await cl.client.createToken("read-only");
  assert.equal(issued.info.role, "read-only");
  const ro = new ControllerClient(cl.controller.address, { ca: cl.admin.ca }, { token: issued.token });
  t.after(() => ro.close());
  assert.deepEqual((await ro.listHosts()).map((h) => h.name), ["host1"]);
  assert.deepEqual((await ro.list()).map((c) => c.name), ["c1"]);
  assert.equal((await ro.get("c1")).state, "running");
  assert.deepEqual(await ro.listMigrations(), []);
  const refused = (action: string) => ({ code: "permission_denied", message: `permission denied: role read-only may not ${action}` });
  await assert.rejects(ro.create({ spec: specOf("c2"), host: "", start: false }), refused("create containers"));
  await assert.rejects(ro.stop("c1", 1), refused("stop containers"));
  await assert.rejects(ro.remove("c1", true), refused("remove containers"));
  await assert.rejects(ro.setLimits("c1", { memoryBytes: 0, cpus: 0 }), refused("change container limits"));
  await assert.rejects(ro.createToken("admin"), refused("create tokens"));
  await assert.rejects(ro.listTokens(), refused("list tokens"));
  const exec = await collect(ro.exec("c1", ["id"]));
  assert.equal((exec.error as Error).message, "permission denied: role read-only may not exec in containers");
  const mig = await collect(ro.migrate("c1", "host1", "none"));
  assert.equal((mig.error as Error).message, "permission denied: role read-only may not migrate containers");
  const after = await cl.client.get("c1");
  assert.equal(after.state, "running");
  assert.deepEqual(after.spec.limits, specOf("c1").limits);
  assert.deepEqual((await cl.client.list()).map((c) => c.name), ["c1"]);
});

test("revoked, expired, unknown and malformed tokens are refused, each saying why", async (t) => {
  const cl = await startCluster([]);
  t.after(() => cl.close());
  const clientWith = (token: string) => {
    const c = new ControllerClient(cl.controller.address, { ca: cl.admin.ca }, { token });
    t.after(() => c.close());
    return c;
  };
  const revoked = await cl.client.createToken("admin");
  assert.equal((await clientWith(revoked.token).listHosts()).length, 0);
  const info = await cl.client.revokeToken(revoked.info.id);
  assert.ok(info.revokedUnixMs > 0);
  await assert.rejects(clientWith(revoked.token).listHosts(), {
    code: "unauthenticated",
    message: `permission denied: token ${revoked.info.id} was revoked at ${new Date(info.revokedUnixMs).toISOString()}`,
  });

  // Expired: issued straight into the database an hour in the past with a one-minute TTL.
  const store = Store.open(cl.dbPath);
  const expired = issueToken(store, "admin", 60_000, Date.now() - 3_600_000);
  store.close();
  await assert.rejects(clientWith(expired.token).listHosts(), {
    code: "unauthenticated",
    message: `permission denied: token ${expired.info.id} expired at ${new Date(expired.info.expiresUnixMs).toISOString()}`,
  });

  // The right id with a wrong secret is as unknown as a made-up token.
  const forged = `${revoked.token.slice(0, "corral_".length + 13)}${"A".repeat(43)}`;
  const good = await cl.client.createToken("read-only", 3600);
  const forgedGood = `corral_${good.info.id}_${"B".repeat(43)}`;
  for (const bad of [forged, forgedGood, "nonsense", `${good.token}x`]) {
    await assert.rejects(clientWith(bad).listHosts(), { code: "unauthenticated", message: "permission denied: unknown token" }, bad);
  }
  assert.equal((await clientWith(good.token).listHosts()).length, 0);
  assert.ok(Math.abs(good.info.expiresUnixMs - good.info.createdUnixMs - 3_600_000) < 5);
});

test("tokens are stored hashed, listed without secrets, and the last admin cannot be revoked", async (t) => {
  const cl = await startCluster([]);
  t.after(() => cl.close());
  const ro = await cl.client.createToken("read-only");
  const listed = await cl.client.listTokens();
  assert.deepEqual(listed.map((x) => x.role).sort(), ["admin", "read-only"]);
  assert.ok(!JSON.stringify(listed).includes(ro.token.slice(20)));
  const db = new Database(cl.dbPath, { readonly: true });
  const dump = JSON.stringify(db.prepare("SELECT * FROM tokens").all());
  db.close();
  assert.ok(!dump.includes(ro.token.slice(20)), "the secret is not in the database");
  assert.ok(!dump.includes(cl.adminToken.slice(20)), "the secret is not in the database");
  assert.match(ro.token, /^corral_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);

  const admin = listed.find((x) => x.role === "admin")!;
  await assert.rejects(cl.client.revokeToken(admin.id), {
    code: "failed_precondition",
    message: `cannot revoke token ${admin.id}: it is the last active admin token (create another admin token first)`,
  });
  await assert.rejects(cl.client.revokeToken("nope"), { code: "not_found", message: 'token "nope" not found' });
  await assert.rejects(cl.client.createToken("root" as "admin"), { code: "invalid_argument", message: 'unknown role "root": expected admin or read-only' });
  // With a second admin the first can go; revoking again changes nothing.
  const second = await cl.client.createToken("admin");
  const gone = await cl.client.revokeToken(admin.id);
  assert.ok(gone.revokedUnixMs > 0);
  const asSecond = new ControllerClient(cl.controller.address, { ca: cl.admin.ca }, { token: second.token });
  t.after(() => asSecond.close());
  const again = await asSecond.revokeToken(admin.id);
  assert.equal(again.revokedUnixMs, gone.revokedUnixMs);
  const store = Store.open(cl.dbPath);
  t.after(() => store.close());
  assert.throws(() => revokeToken(store, second.info.id), { code: "failed_precondition" });
  assert.throws(() => issueToken(store, "admin", -1), { code: "invalid_argument" });
});

test("corral-controller --issue-admin-token prints a working admin token alone and exits", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-first-admin-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, "corral.db");
  const bin = fileURLToPath(new URL("../../bin/corral-controller.js", import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [bin, "--db", db, "--issue-admin-token"], (err, out) => (err ? reject(err) : resolve(out))),
  );
  assert.match(stdout, /^corral_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$/);
  const store = Store.open(db);
  t.after(() => store.close());
  assert.equal(verifyToken(store.db, stdout.trim()).role, "admin");
});
