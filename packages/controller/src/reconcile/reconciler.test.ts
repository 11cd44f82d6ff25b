// The reconciler against a real controller, SQLite file and scripted agents; usage reports go
// through the real RegistryService stream, as an agent's do.
import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { RegistryClient, type ContainerUsage, type UsageReport } from "@corral/wire";
import { collect, startCluster, waitFor, type InProcessCluster } from "../test-support/cluster.js";
import { ScriptedAgent, specOf } from "../test-support/scripted-agent.js";

const MiB = 1024 ** 2;

const usageOf = (name: string, state: "running" | "stopped"): ContainerUsage => ({
  name, backend: "lxc", state, cpuNanos: 0, cpuPercent: 1.5, memoryBytes: 3 * MiB, memoryLimitBytes: 0, pids: state === "running" ? 2 : 0,
  blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0,
});

/** Streams what the agent's containers are, every everyMs, like the agent's reporter; extra adds strangers. */
function report(cl: InProcessCluster, agent: ScriptedAgent, everyMs: number, extra: ContainerUsage[] = []): { stop(): void; ended: Promise<unknown> } {
  let stopped = false;
  // The host's own certificate: the controller takes a report only from the host it names.
  const reg = new RegistryClient(cl.controller.address, agent.tls);
  async function* reports(): AsyncGenerator<UsageReport> {
    while (!stopped) {
      const containers = [...agent.containers.entries()].map(([n, c]) => usageOf(n, c.state));
      yield { host: agent.name, atUnixMs: Date.now(), containers: [...containers, ...extra], diskFreeBytes: 10 * 1024 * MiB };
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
  const done = reg.reportUsage(reports()).catch(() => undefined);
  return {
    stop: () => {
      stopped = true;
      void done.finally(() => reg.close());
    },
    // Once the controller has answered the stream, every report sent on it has been applied.
    ended: done,
  };
}

test("a container destroyed behind the controller's back is lost: reservation freed, no live usage; others untouched", async (t) => {
  const cl = await startCluster(["host1"], { reportIntervalMs: 100 });
  t.after(() => cl.close());
  const host1 = cl.agents.host1!;
  await cl.client.create({ spec: specOf("gone"), host: "host1", start: true });
  await cl.client.create({ spec: specOf("kept"), host: "host1", start: true });
  const r = report(cl, host1, 100);
  t.after(() => r.stop());
  await waitFor("usage recorded", async () => ((await cl.client.get("gone")).usage ? true : undefined));
  const gone = host1.containers.get("gone")!;
  host1.containers.delete("gone");
  const lost = await waitFor("marked lost", async () => {
    const c = await cl.client.get("gone");
    return c.state === "lost" ? c : undefined;
  });
  assert.equal(lost.usage, undefined, "no live-looking usage for a lost container");
  const h = (await cl.client.listHosts()).find((x) => x.name === "host1");
  assert.equal(h?.reservedMemoryBytes, 256 * MiB, "only the container still there holds a reservation");
  assert.equal((await cl.client.get("kept")).state, "running");

  // It comes back (its host reports it again): reserved again, since the room is still free.
  host1.containers.set("gone", { ...gone, state: "running" });
  await waitFor("lost container back", async () => ((await cl.client.get("gone")).state === "running" ? true : undefined));
  const back = (await cl.client.listHosts()).find((x) => x.name === "host1");
  assert.equal(back?.reservedMemoryBytes, 512 * MiB, "the returned container holds its reservation again");
  assert.deepEqual(foundEvents(cl), [{ container: "gone", host: "host1", reserved: true, reason: "" }]);
});

test("a lost container that comes back to a host now full runs unreserved, said by an event; nothing is overcommitted", async (t) => {
  const cl = await startCluster(["host1"], { reportIntervalMs: 100 });
  t.after(() => cl.close());
  const host1 = cl.agents.host1!;
  await cl.client.create({ spec: specOf("gone"), host: "host1", start: true });
  const r = report(cl, host1, 100);
  t.after(() => r.stop());
  const gone = host1.containers.get("gone")!;
  host1.containers.delete("gone");
  await waitFor("marked lost", async () => ((await cl.client.get("gone")).state === "lost" ? true : undefined));
  // Its room goes to another container (the host has 4 GiB).
  await cl.client.create({ spec: { ...specOf("big"), limits: { memoryBytes: 4096 * MiB, cpus: 1 } }, host: "host1", start: true });
  host1.containers.set("gone", { ...gone, state: "running" });
  await waitFor("lost container back", async () => ((await cl.client.get("gone")).state === "running" ? true : undefined));
  const h = (await cl.client.listHosts()).find((x) => x.name === "host1");
  assert.equal(h?.reservedMemoryBytes, 4096 * MiB, "not overcommitted for the returned container");
  const [found] = foundEvents(cl);
  assert.equal(found?.reserved, false);
  assert.match(String(found?.reason), /^no room to reserve it again: not enough memory: 0 B free of 4\.0 GiB, 256 MiB requested$/);
});

function foundEvents(cl: InProcessCluster): Record<string, unknown>[] {
  const db = new Database(cl.dbPath, { readonly: true });
  try {
    const rows = db.prepare("SELECT payload FROM events WHERE subject = 'corral.container.found' ORDER BY id").all() as { payload: string }[];
    return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
  } finally {
    db.close();
  }
}

test("a container missing from reports but still on its host is not lost (the host is asked)", async (t) => {
  const cl = await startCluster(["host1"], { reportIntervalMs: 100 });
  t.after(() => cl.close());
  const host1 = cl.agents.host1!;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  // Reports that leave c1 out, as a backend whose usage read failed would.
  const silent = new ScriptedAgent("host1", host1.tls);
  const r = report(cl, silent, 100);
  t.after(() => r.stop());
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal((await cl.client.get("c1")).state, "running");
  assert.ok(host1.containers.has("c1"));
});

test("a container that should run and does not is started; drift is listed, never removed", async (t) => {
  const cl = await startCluster(["host1"], { reportIntervalMs: 100 });
  t.after(() => cl.close());
  const host1 = cl.agents.host1!;
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  host1.containers.set("stray", { spec: specOf("stray"), state: "running" });
  host1.containers.get("c1")!.state = "stopped"; // it died behind our back
  const r = report(cl, host1, 100);
  t.after(() => r.stop());
  await waitFor("started again", () => (host1.calls.filter((c) => c === "start c1").length >= 2 ? true : undefined));
  assert.equal(host1.containers.get("c1")?.state, "running");
  await waitFor("controller agrees", async () => ((await cl.client.get("c1")).state === "running" ? true : undefined));
  const { drift, containers } = await cl.client.listWithDrift();
  assert.deepEqual(drift.map((d) => [d.name, d.host, d.state]), [["stray", "host1", "running"]]);
  assert.deepEqual(containers.map((c) => c.name), ["c1"]);
  assert.ok(!host1.calls.includes("remove stray") && !host1.calls.includes("stop stray"));
  // A container the user stopped stays stopped.
  await cl.client.stop("c1", 1);
  await new Promise((res) => setTimeout(res, 2500));
  assert.equal(host1.containers.get("c1")?.state, "stopped");
});

test("while its host is down a container is unknown, with the time of its last report", async (t) => {
  const cl = await startCluster(["host1"], { reportIntervalMs: 100, heartbeatTimeoutMs: 600 });
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const r = report(cl, cl.agents.host1!, 100);
  await waitFor("reported", async () => ((await cl.client.get("c1")).lastReportUnixMs > 0 ? true : undefined));
  r.stop();
  // A report already on its way when the stream stopped is applied after stop(): wait for the end.
  await r.ended;
  const stoppedAt = Date.now();
  const c = await waitFor("unknown", async () => (await cl.client.list()).find((x) => x.state === "unknown"), 5000);
  assert.ok(c.lastReportUnixMs > 0 && c.lastReportUnixMs <= stoppedAt, "the age is the last report's");
  assert.equal(c.usage, undefined);
});

test("a leftover whose host answers again is removed by the reconciler on a fresh channel, without a re-register", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  let release!: () => void;
  cl.agents.host2!.script = { ...cl.agents.host2!.script, holdStart: new Promise<void>((r) => (release = r)) };
  const run = collect(cl.client.migrate("c1", "host2", "none"));
  await waitFor("start asked on the target", () => (cl.agents.host2!.calls.includes("start c1") ? true : undefined));
  const port = Number(cl.agents.host1!.address.split(":").at(-1));
  cl.agents.host1!.close();
  release();
  assert.equal((await run).error, undefined);
  assert.equal((await cl.client.listMigrations("c1"))[0]?.phase, "done");
  // The agent comes back on the same address; the controller's old channel saw it refuse.
  const reborn = await ScriptedAgent.start("host1", cl.agents.host1!.tls, port);
  reborn.containers.set("c1", { spec: specOf("c1"), state: "stopped" });
  cl.agents.host1 = reborn;
  await waitFor("the old copy deleted", () => (reborn.containers.has("c1") ? undefined : true), 15_000);
  assert.ok(reborn.calls.includes("remove c1"));
  assert.equal(cl.agents.host2!.containers.get("c1")?.state, "running");
});

test("an agent that registers again mid-copy (a fresh channel) does not break the copy under way", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 20, chunkBytes: 64 * 1024, chunkDelayMs: 50 };
  const run = collect(cl.client.migrate("c1", "host2", "none"));
  await waitFor("copy under way", async () => ((await cl.client.listMigrations("c1"))[0]?.phase === "transferring" ? true : undefined));
  await cl.register(cl.agents.host1!);
  await cl.register(cl.agents.host2!);
  const { items, error } = await run;
  assert.equal(error, undefined);
  assert.equal(items.at(-1)?.migration.phase, "done");
});
