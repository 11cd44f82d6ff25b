// @test-lane own (LXC only, no Docker, no LXD: everything it uses is named by its cluster slot)
// Trust boundaries on the local cluster: the agents joined with one-use tokens, every port is mutual
// TLS, and `host rm` revokes a host's certificate so its agent cannot come back with it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AgentClient, ControllerClient, verifyIssued, type Host } from "@corral/wire";
import { plaintextHttp2Answer } from "@corral/controller/test-support";
import { TestCluster, eventually } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 4, lxd: false });

before(async () => {
  await cluster.up();
});
after(async () => {
  await cluster.down();
});

const hostNames = async () => (await cluster.json<Host[]>(["host", "list"])).map((h) => `${h.name}:${h.state}`);

describe("hosts joined with tokens and speak only mutual TLS", () => {
  test("each host holds its own certificate, from the cluster CA, with a private key", async () => {
    const ca = readFileSync(join(cluster.root, "controller/pki/ca.pem"), "utf8");
    assert.equal(statSync(join(cluster.root, "controller/pki")).mode & 0o777, 0o700);
    assert.equal(statSync(join(cluster.root, "controller/pki/ca.key")).mode & 0o777, 0o600);
    for (const h of ["host1", "host2"]) {
      const tls = join(cluster.hostDir(h), "tls");
      assert.equal(statSync(join(tls, "host.key")).mode & 0o777, 0o600);
      assert.deepEqual(verifyIssued(ca, readFileSync(join(tls, "host.pem"), "utf8")), { kind: "host", name: h });
    }
    assert.deepEqual(await hostNames(), ["host1:ready", "host2:ready"]);
  });

  test("an anonymous caller and plaintext HTTP/2 get nothing from the controller or an agent", async () => {
    const hosts = await cluster.json<Host[]>(["host", "list"]);
    const agentAddress = hosts.find((h) => h.name === "host1")!.address;
    const ca = cluster.adminTls().ca;
    const anonymousCtl = new ControllerClient(cluster.controller, { ca });
    const anonymousAgent = new AgentClient(agentAddress, { ca }, { kind: "host", name: "host1" });
    try {
      await assert.rejects(anonymousCtl.listHosts(), { code: "unauthenticated" });
      await assert.rejects(anonymousAgent.list(), { code: "unauthenticated", message: `agent at ${agentAddress} requires a client certificate from this cluster's CA (TLS alert: certificate required)` });
    } finally {
      anonymousCtl.close();
      anonymousAgent.close();
    }
    const cli = await cluster.cli(["host", "list"], { env: { CORRAL_CERT: "", CORRAL_KEY: "", CORRAL_CONFIG: "/nonexistent", CORRAL_CA: join(cluster.root, "controller/pki/ca.pem") } });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^corral: permission denied: no credential \(give --token, set CORRAL_TOKEN, or run corral cluster init\)/);
    for (const address of [cluster.controller, agentAddress]) {
      const answer = await plaintextHttp2Answer(address);
      assert.equal(answer, undefined, `${address} answered plaintext HTTP/2`);
    }
  });

  test("an agent restarted without a token comes back with its stored certificate", async () => {
    await cluster.script("kill-agent", "host2");
    await cluster.script("start-agent", "host2");
    const log = readFileSync(join(cluster.root, "log/agent-host2.log"), "utf8");
    assert.equal((log.match(/joined the cluster: host certificate stored/g) ?? []).length, 1, "joined once, at the first start");
    await eventually("host2 registered again", async () => (await hostNames()).includes("host2:ready"));
  });
});

describe("host rm", () => {
  test("refuses a host that is up; removes a down host and revokes its certificate for good", async () => {
    const up = await cluster.cli(["host", "rm", "host2"]);
    assert.deepEqual([up.code, up.stderr], [1, "corral: host host2 is ready; only a host that is down can be removed (stop its agent first)\n"]);
    await cluster.script("kill-agent", "host2");
    await eventually("host2 down", async () => (await hostNames()).includes("host2:down"), 40_000);
    const rm = await cluster.cli(["host", "rm", "host2"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /^removed host2; certificate [0-9a-f]+ revoked\n$/);
    assert.deepEqual(await hostNames(), ["host1:ready"]);

    // Its agent, started again with the same (revoked) certificate, is refused and never reappears.
    await cluster.script("start-agent", "host2");
    await eventually("the agent is refused", async () => /has been revoked/.test(readFileSync(join(cluster.root, "log/agent-host2.log"), "utf8")), 20_000);
    assert.deepEqual(await hostNames(), ["host1:ready"]);
    await cluster.script("kill-agent", "host2");
  });
});
