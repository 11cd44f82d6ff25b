// `corral events` through the real binary, against a real controller publishing to a real
// nats-server with JetStream, which the test stops and starts again.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { clusterPaths, RegistryClient, type HostInfo, type TlsCredentials } from "@corral/wire";
import { initTestCluster, joinHost } from "@corral/controller/test-support";
import { NATS_BIN, NatsServer, issueAdminToken, startController, type RunningController } from "@corral/controller";
import { CORRAL_BIN, runCorral, type Run } from "./test-support/run-corral.js";

const skip = NATS_BIN ? false : "nats-server binary not found on PATH";
let dir: string;
let nats: NatsServer;
let controller: RunningController;
let admin: string;
/** The admin's certificate from `cluster init`, to issue join tokens for the hosts registered here. */
let adminTls: TlsCredentials;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "corral-cli-events-"));
  nats = await NatsServer.start(join(dir, "nats"));
  const db = join(dir, "corral.db");
  // No agent streams usage here: a long heartbeat timeout keeps "host down" events out of the count.
  adminTls = await initTestCluster(dir);
  controller = await startController({ listen: "127.0.0.1:0", db, stateDir: dir, nats: nats.url, heartbeatTimeoutMs: 600_000, logger: pino({ level: "silent" }) });
  admin = issueAdminToken(db);
});
after(async () => {
  if (skip) return;
  await controller.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH ?? "", HOME: dir, CORRAL_CONTROLLER: controller.address, CORRAL_TOKEN: admin, CORRAL_CA: clusterPaths(dir).caCert });
const corral = (args: string[]): Promise<Run> => runCorral(args, env());

async function register(name: string): Promise<void> {
  const info: HostInfo = {
    name,
    address: "127.0.0.1:1",
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    diskBytes: 100 * 1024 ** 3,
    diskFreeBytes: 50 * 1024 ** 3,
    backends: [{ name: "lxc", available: true, reason: "", capabilities: [] }],
    agentVersion: "test",
  };
  const reg = new RegistryClient(controller.address, await joinHost(controller.address, adminTls, name));
  try {
    await reg.register(info);
  } finally {
    reg.close();
  }
}

interface EventDoc {
  seq: number;
  type: string;
  subject: string;
  at: string;
  data: { host?: string };
}

async function events(args: string[] = []): Promise<EventDoc[]> {
  const r = await corral(["events", "--json", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.toString("utf8")) as EventDoc[];
}

/** The events, or undefined while the controller cannot read the stream (NATS reconnecting). */
async function tryEvents(): Promise<EventDoc[] | undefined> {
  const r = await corral(["events", "--json"]);
  return r.code === 0 ? (JSON.parse(r.stdout.toString("utf8")) as EventDoc[]) : undefined;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("changes made while nats-server is down arrive after it is back, every event exactly once, in order", { skip }, async () => {
  await register("h1");
  await register("h2");
  await eventually("the first two events", async () => ((await tryEvents())?.length === 2 ? true : undefined));

  await nats.stop();
  for (const h of ["h3", "h4", "h5"]) await register(h);
  const down = await corral(["events"]);
  assert.equal(down.code, 1, "no stream to read while NATS is down");
  assert.match(down.stderr, /^corral: /);

  await nats.restart();
  const all = await eventually("all five events", async () => {
    const got = await tryEvents();
    return got && got.length >= 5 ? got : undefined;
  });
  // Let the publisher settle, then look again: nothing may arrive twice.
  await new Promise((r) => setTimeout(r, 1_500));
  const settled = await events();
  assert.deepEqual(settled, all);
  assert.deepEqual(settled.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(settled.map((e) => e.data.host), ["h1", "h2", "h3", "h4", "h5"]);
  assert.ok(settled.every((e) => e.type === "host.registered" && e.subject === "corral.host.registered"));
  assert.match(settled[0]?.at ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("--since SEQ and --type filter; the table shows one line per event", { skip }, async () => {
  const since = await events(["--since", "4"]);
  assert.deepEqual(since.map((e) => e.seq), [4, 5]);
  assert.deepEqual(await events(["--type", "container"]), []);
  assert.equal((await events(["--type", "host.registered", "--since", "1h"])).length, 5);
  const table = await corral(["events", "--since", "5"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout.toString("utf8"), /^ {5}5 {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}host\.registered {9}\{"host":"h5",.*\}\n$/);
  const bad = await corral(["events", "--since", "yesterday"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^corral: invalid --since "yesterday": expected a sequence/);
  const badType = await corral(["events", "--type", "Container!"]);
  assert.deepEqual([badType.code, badType.stderr], [2, 'corral: invalid event type "Container!": expected a kind such as container or container.started\n']);
});

test("--follow prints new events as they happen, one JSON object a line", { skip }, async () => {
  const child = spawn(process.execPath, [CORRAL_BIN, "events", "--follow", "--json", "--since", "5"], { env: env() });
  let text = "";
  const lines = () => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as EventDoc);
  child.stdout.on("data", (d: Buffer) => (text += d.toString("utf8")));
  try {
    await eventually("the replayed event", async () => (lines().length >= 1 ? true : undefined));
    await register("h6");
    await eventually("the new event", async () => (lines().length >= 2 ? true : undefined));
    assert.deepEqual(lines().map((e) => [e.seq, e.data.host]), [[5, "h5"], [6, "h6"]]);
  } finally {
    child.kill("SIGINT");
  }
});
