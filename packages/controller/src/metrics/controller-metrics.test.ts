// Scrapes a real controller's /metrics over HTTP after real placements and migrations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePrometheusText, sampleValue } from "@corral/wire";
import { collect, startCluster } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";

test("the controller serves hosts, containers, migrations and placement latency on --metrics-listen", async (t) => {
  const cl = await startCluster(["host1", "host2"], { metricsListen: "127.0.0.1:0" });
  t.after(() => cl.close());
  const url = cl.controller.metricsUrl;
  assert.match(url ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const { host1, host2 } = cl.agents as Record<string, NonNullable<(typeof cl.agents)[string]>>;

  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  await cl.client.create({ spec: specOf("c2"), host: "host1", start: true });
  assert.equal((await collect(cl.client.migrate("c1", "host2", "none"))).error, undefined);
  host1!.script = { chunks: 8, chunkBytes: 64 * 1024, chunkDelayMs: 2 };
  host2!.script = { ...host2!.script, failReceiveAfterBytes: 128 * 1024 };
  assert.ok((await collect(cl.client.migrate("c2", "host2", "none"))).error);
  // Placed after the moves: created before, binpack would fill host2's cpus and leave the rollback no room.
  await cl.client.create({ spec: specOf("c3"), host: "", start: false });

  const res = await fetch(url as string);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const { samples, types } = parsePrometheusText(await res.text());
  const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);

  assert.equal(v("corral_hosts", { state: "ready" }), 2);
  assert.equal(v("corral_hosts", { state: "down" }), 0);
  assert.equal(v("corral_containers", { state: "running" }), 2);
  assert.equal(v("corral_containers", { state: "stopped" }), 1);
  assert.equal(v("corral_migrations_total", { outcome: "succeeded" }), 1);
  assert.equal(v("corral_migrations_total", { outcome: "rolled_back" }), 1);
  assert.equal(v("corral_migration_bytes_count"), 1);
  assert.equal(v("corral_migration_bytes_sum"), 4 * 64 * 1024);
  assert.equal(v("corral_migration_downtime_seconds_count"), 1);
  assert.ok((v("corral_migration_downtime_seconds_sum") ?? 0) > 0);
  assert.equal(v("corral_placement_duration_seconds_count"), 3);
  assert.ok((v("process_cpu_seconds_total") ?? 0) > 0, "process metrics too");
  // Conventions: counters end in _total; every corral_ metric says its type.
  for (const [name, type] of types) {
    if (type === "counter") assert.match(name, /_total$/, name);
    if (name.startsWith("corral_")) assert.ok(["counter", "gauge", "histogram"].includes(type), name);
  }

  const other = await fetch(url!.replace(/\/metrics$/, "/"));
  assert.equal(other.status, 404);
  assert.match(await other.text(), /metrics are at \/metrics/);
});

test("a bad --metrics-listen is refused before anything is served", async () => {
  const { parseConfig } = await import("../config.js");
  assert.throws(() => parseConfig(["--db", "/x.db", "--metrics-listen", "nonsense"]), {
    message: 'invalid --metrics-listen "nonsense": expected HOST:PORT such as 127.0.0.1:9400',
  });
  const cfg = parseConfig(["--db", "/x.db", "--metrics-listen", ":9400"]);
  assert.equal(cfg !== "help" && cfg.metricsListen, ":9400");
});
