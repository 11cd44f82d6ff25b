// @test-lane own (LXC only, no Docker, no LXD: everything it uses is named by its cluster slot)
// The operator's day on a real local cluster (one emulated host, real LXC, real agent, NATS in a
// container): every metrics URL `local-cluster.sh status` prints serves real numbers, and
// `ct stats` and `host show` show the same container through the CLI.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parsePrometheusText, sampleValue } from "@corral/wire";
import { TestCluster, eventually } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 1, slot: 3, lxd: false });

before(async () => {
  await cluster.up();
});
after(async () => {
  await cluster.cli(["ct", "rm", "--force", "day1"]);
  await cluster.down();
});

async function scrape(url: string) {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return parsePrometheusText(await res.text()).samples;
}

test("status prints each metrics URL; controller and agent serve the running container", async () => {
  const created = await cluster.cli(["ct", "create", "day1", "--host", "host1", "--memory", "64M"]);
  assert.equal(created.code, 0, created.stderr);

  const status = await cluster.script("status");
  const urls = [...status.matchAll(/metrics (http:\/\/\S+\/metrics)/g)].map((m) => m[1] as string);
  assert.equal(urls.length, 2, status);
  const [controllerUrl, agentUrl] = urls as [string, string];
  assert.match(status, new RegExp(`^controller .*metrics ${controllerUrl.replace(/[.?]/g, "\\$&")}$`, "m"));
  assert.match(status, new RegExp(`^host1 .*metrics ${agentUrl.replace(/[.?]/g, "\\$&")}$`, "m"));

  const ctl = await scrape(controllerUrl);
  assert.equal(sampleValue(ctl, "corral_hosts", { state: "ready" }), 1);
  assert.equal(sampleValue(ctl, "corral_containers", { state: "running" }), 1);
  assert.equal(sampleValue(ctl, "corral_placement_duration_seconds_count"), 1);

  const agent = await scrape(agentUrl);
  const labels = { container: "day1", backend: "lxc", host: "host1" };
  assert.ok((sampleValue(agent, "corral_container_memory_usage_bytes", labels) ?? 0) > 0);
  assert.equal(sampleValue(agent, "corral_container_memory_limit_bytes", labels), 64 * 1024 * 1024);
  assert.ok((sampleValue(agent, "corral_container_pids", labels) ?? 0) >= 1);
});

test("ct stats and host show report the container from the agents' usage", async () => {
  const stats = await eventually("usage for day1", async () => {
    const s = await cluster.json<{ name: string; memoryBytes: number; memoryLimitBytes: number; pids: number }[]>(["ct", "stats", "day1"]);
    return s[0] && s[0].pids > 0 ? s[0] : undefined;
  });
  assert.equal(stats.name, "day1");
  assert.ok(stats.memoryBytes > 0);
  assert.equal(stats.memoryLimitBytes, 64 * 1024 * 1024);
  const table = await cluster.cli(["ct", "stats"]);
  assert.match(table.stdout, /^CONTAINER\s+HOST\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\nday1\s+host1\s+\d+\.\d\d%\s+\S+ \S+ \/ 64\.0 MiB/);

  const host = await cluster.json<{ containers: { name: string; state: string }[]; used: { memoryBytes: number }; reserved: { memoryBytes: number } }>(["host", "show", "host1"]);
  assert.deepEqual(host.containers, [{ name: "day1", backend: "lxc", state: "running", desiredState: "running" }]);
  assert.equal(host.reserved.memoryBytes, 64 * 1024 * 1024);
  assert.ok(host.used.memoryBytes > 0);
  const events = await cluster.json<{ type: string; data: { name?: string; container?: string } }[]>(["events", "--type", "container"]);
  assert.ok(events.some((e) => e.type === "container.created"), JSON.stringify(events));
});
