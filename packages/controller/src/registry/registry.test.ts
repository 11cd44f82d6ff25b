// Registration, heartbeats, liveness and cleanup retries over the real RegistryService.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RegistryClient, type TlsCredentials, type UsageReport } from "@corral/wire";
import { collect, startCluster, waitFor } from "../test-support/cluster.js";
import { ScriptedAgent, specOf } from "../test-support/scripted-agent.js";
import { joinHost } from "../test-support/test-pki.js";

function usage(host: string, state: "running" | "stopped"): UsageReport {
  return {
    host,
    atUnixMs: Date.now(),
    diskFreeBytes: 1234,
    containers: [
      { name: "c1", backend: "lxc", state, cpuNanos: 1, cpuPercent: 12.5, memoryBytes: 42 * 1024 * 1024, memoryLimitBytes: 0, pids: 3, blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0 },
    ],
  };
}

/** Reports as the host whose credentials `tls` are (each host speaks only for itself). */
async function report(address: string, tls: TlsCredentials, r: UsageReport): Promise<void> {
  const reg = new RegistryClient(address, tls);
  try {
    await reg.reportUsage((async function* () {
      yield r;
    })());
  } finally {
    reg.close();
  }
}

test("a silent host goes down, refuses work, and comes back with its next report", async (t) => {
  const cl = await startCluster(["host1", "host2"], { heartbeatTimeoutMs: 700 });
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host2", start: true });
  await report(cl.controller.address, cl.agents.host1!.tls, usage("host1", "stopped"));
  await waitFor("host2 down", async () => ((await cl.client.listHosts()).find((h) => h.name === "host2")?.state === "down" ? true : undefined), 5000);
  await assert.rejects(cl.client.stop("c1", 1), { code: "unavailable", message: "host host2 is down" });
  await assert.rejects(cl.client.create({ spec: specOf("c2"), host: "host2", start: false }), {
    code: "unavailable",
    message: "cannot place c2 on host2: host is down",
  });

  await report(cl.controller.address, cl.agents.host2!.tls, usage("host2", "stopped"));
  const h2 = (await cl.client.listHosts()).find((h) => h.name === "host2");
  assert.equal(h2?.state, "ready");
  assert.equal(h2?.diskFreeBytes, 1234);
  const c = await cl.client.get("c1");
  assert.equal(c.state, "stopped", "the report's state is taken");
  assert.equal(c.usage?.memoryBytes, 42 * 1024 * 1024);
});

test("a report from an unknown host is refused", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  // ghost joined (it holds a valid certificate) but never registered.
  const ghost = await joinHost(cl.controller.address, cl.admin, "ghost");
  await assert.rejects(report(cl.controller.address, ghost, usage("ghost", "running")), {
    code: "failed_precondition",
    message: "host ghost is not registered; register first",
  });
});

test("an unreachable target's leftovers are removed when it registers again (from a new address)", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.script = { chunks: 40, chunkBytes: 16 * 1024, chunkDelayMs: 20 };
  const run = collect(cl.client.migrate("c1", "host2", "none"));
  await waitFor("transferring", async () => ((await cl.client.listMigrations("c1"))[0]?.phase === "transferring" ? true : undefined));
  cl.agents.host2!.close(); // the target host vanishes mid-transfer
  const { error } = await run;
  assert.match(String((error as Error).message), /rolled back, c1 runs on host1$/);
  assert.equal(cl.agents.host1!.containers.get("c1")?.state, "running");

  const reborn = await ScriptedAgent.start("host2", cl.agents.host2!.tls);
  cl.agents.host2 = reborn;
  await cl.register(reborn);
  await waitFor("abortReceive on the new host2", () => (reborn.calls.includes("abortReceive c1") ? true : undefined));
});
