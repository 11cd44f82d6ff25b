// A controller killed (-9) in the middle of a migration: the next one reads the journal and
// rolls back (before target_started) or finishes (from target_started on).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryClient } from "@corral/wire";
import { ScriptedAgent, specOf } from "../test-support/scripted-agent.js";
import { spawnController, type ControllerProcess } from "../test-support/controller-process.js";
import { collect, waitFor } from "../test-support/cluster.js";
import { initTestCluster, joinHost } from "../test-support/test-pki.js";
import { freePort } from "../test-support/free-port.js";

async function setup(t: import("node:test").TestContext) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "corral-resume-"));
  const db = join(dir, "corral.db");
  const admin = await initTestCluster(dir);
  const procs: ControllerProcess[] = [];
  const hosts: ScriptedAgent[] = [];
  t.after(async () => {
    for (const p of procs) await p.kill9();
    for (const h of hosts) h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async () => {
    const p = await spawnController(port, db, dir, admin);
    procs.push(p);
    return p;
  };
  const first = await start();
  const host1 = await ScriptedAgent.start("host1", await joinHost(first.address, admin, "host1"));
  const host2 = await ScriptedAgent.start("host2", await joinHost(first.address, admin, "host2"));
  hosts.push(host1, host2);
  for (const h of hosts) {
    const reg = new RegistryClient(first.address, h.tls);
    await reg.register(h.info());
    reg.close();
  }
  await first.client.create({ spec: specOf("c1"), host: "host1", start: true });
  return { host1, host2, first, start };
}

const phaseOf = async (p: ControllerProcess) => (await p.client.listMigrations("c1"))[0]?.phase;

test("killed while transferring: the restarted controller rolls back and restarts the source", async (t) => {
  const { host1, host2, first, start } = await setup(t);
  host1.script = { chunks: 300, chunkBytes: 16 * 1024, chunkDelayMs: 20 };
  const watching = collect(first.client.migrate("c1", "host2", "none"));
  await waitFor("transferring", async () => ((await phaseOf(first)) === "transferring" ? true : undefined));
  await first.kill9();
  await watching;

  const second = await start();
  await waitFor("rolled_back", async () => ((await phaseOf(second)) === "rolled_back" ? true : undefined));
  const [m] = await second.client.listMigrations("c1");
  assert.equal(m?.error, "controller restarted during transferring");
  assert.equal(host1.containers.get("c1")?.state, "running");
  assert.ok(host2.calls.includes("abortReceive c1"));
  assert.equal(host2.containers.has("c1"), false);
  const c = await second.client.get("c1");
  assert.deepEqual([c.host, c.state], ["host1", "running"]);
  assert.equal((await second.client.listHosts()).find((h) => h.name === "host2")?.reservedMemoryBytes, 0);
  assert.match(second.output(), /resuming migration/);
});

test("killed at target_started: the restarted controller finishes and deletes the source", async (t) => {
  const { host1, host2, first, start } = await setup(t);
  let release!: () => void;
  host2.script = { ...host2.script, holdStart: new Promise<void>((r) => (release = r)) };
  const watching = collect(first.client.migrate("c1", "host2", "none"));
  await waitFor("target_started", async () => ((await phaseOf(first)) === "target_started" ? true : undefined));
  await waitFor("start asked on the target", () => (host2.calls.includes("start c1") ? true : undefined));
  await first.kill9(); // with the target's start still in flight
  await watching;
  release();

  const second = await start();
  await waitFor("done", async () => ((await phaseOf(second)) === "done" ? true : undefined));
  assert.equal(host1.containers.has("c1"), false, "source deleted");
  assert.ok(host1.calls.includes("remove c1"));
  assert.equal(host2.containers.get("c1")?.state, "running");
  const c = await second.client.get("c1");
  assert.deepEqual([c.host, c.state], ["host2", "running"]);
  const [m] = await second.client.listMigrations("c1");
  assert.equal(m?.error, "");
  assert.ok((m?.downtimeMs ?? 0) > 0);
});
