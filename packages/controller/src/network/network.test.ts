// The container network's addresses, through the real API over gRPC against a real controller
// (SQLite, in-memory state) and scripted agents: one pool, no address twice, freed on rm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CorralError } from "@corral/wire";
import { collect, startCluster } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";
import { ClusterState } from "../store/cluster-state.js";
import { Pool } from "./pool.js";
import { peersOf } from "./network-service.js";

const small = (name: string) => ({ ...specOf(name), limits: { memoryBytes: 1024 ** 2, cpus: 0.01 } });

test("a pool is a CIDR without host bits; it hands out next-fit, never the network or broadcast address", () => {
  assert.throws(() => new Pool("10.240.0.1/16"), /host bits set \(did you mean 10\.240\.0\.0\/16\?\)/);
  assert.throws(() => new Pool("10.240.0.0"), /not a CIDR/);
  assert.throws(() => new Pool("10.240.0.0/31"), /between 8 and 29/);
  const p = new Pool("10.9.0.0/29");
  assert.equal(p.size, 6);
  const taken = new Set<string>();
  const next = () => {
    const ip = p.next((a) => taken.has(a));
    if (ip) taken.add(ip);
    return ip;
  };
  assert.deepEqual([next(), next()], ["10.9.0.1", "10.9.0.2"]);
  taken.delete("10.9.0.1");
  // Next-fit: a freed address is not reused at once (a stale ARP entry for it may still be around).
  assert.equal(next(), "10.9.0.3");
  assert.deepEqual([next(), next(), next()], ["10.9.0.4", "10.9.0.5", "10.9.0.6"]);
  assert.equal(next(), "10.9.0.1");
  assert.equal(next(), undefined);
});

test("a host's peers are every other host's IP, once, sorted; the list follows adds, removals, re-registrations and rollbacks", () => {
  const state = new ClusterState();
  const host = (name: string, address: string) =>
    state.addHost({
      name, address, state: "ready", adminState: "ready", backends: [], cpus: 1, memoryBytes: 1, diskBytes: 1, diskFreeBytes: 1,
      lastSeenUnixMs: 0, labels: {}, overcommit: 1,
    });
  host("a", "10.0.0.1:7401");
  host("b", "10.0.0.2:7401");
  host("c", "[fd00::1]:7401");
  host("d", "10.0.0.2:7402"); // shares b's IP: b's peer, and b is d's
  assert.deepEqual(peersOf(state, "10.0.0.1"), ["10.0.0.2", "fd00::1"]);
  assert.deepEqual(peersOf(state, "10.0.0.2"), ["10.0.0.1", "10.0.0.2", "fd00::1"]);
  // A caller's copy is its own: changing it leaves the next host's list as it was.
  peersOf(state, "fd00::1").push("junk");
  assert.deepEqual(peersOf(state, "fd00::1"), ["10.0.0.1", "10.0.0.2"]);
  state.removeHost("d");
  assert.deepEqual(peersOf(state, "10.0.0.2"), ["10.0.0.1", "fd00::1"]);
  host("a", "10.0.0.9:7401"); // re-registered from another address
  assert.deepEqual(peersOf(state, "10.0.0.2"), ["10.0.0.9", "fd00::1"]);
  state.begin();
  host("e", "10.0.0.5:7401");
  assert.deepEqual(peersOf(state, "10.0.0.2"), ["10.0.0.5", "10.0.0.9", "fd00::1"]);
  state.rollback(0, true);
  assert.deepEqual(peersOf(state, "10.0.0.2"), ["10.0.0.9", "fd00::1"]);
});

test("concurrent creates never share an address; hosts' bridges hold theirs; rm frees; an empty pool says so", async (t) => {
  const cl = await startCluster(["host1", "host2", "host3"], { network: { pool: "10.250.0.0/28" } });
  t.after(() => cl.close());
  // Each host was sent its bridge address and its peers on registration.
  for (const h of ["host1", "host2", "host3"]) {
    const n = cl.agents[h]?.network;
    assert.ok(n, `${h} got no network`);
    assert.match(n.bridgeAddress, /^10\.250\.0\.\d+\/28$/);
    assert.equal(n.vni, 4242);
    assert.equal(n.mtu, 1450);
  }
  // 14 usable addresses, 3 bridges: 11 containers fit, created all at once.
  const names = Array.from({ length: 11 }, (_, i) => `c${i}`);
  const made = await Promise.all(names.map((n) => cl.client.create({ spec: small(n), host: "", start: false })));
  const addrs = made.map((c) => c.spec.ipv4);
  assert.ok(addrs.every((a) => a && /^10\.250\.0\.\d+\/28$/.test(a)), addrs.join(" "));
  assert.equal(new Set(addrs).size, 11, `duplicates in ${addrs.join(" ")}`);
  // The agent was given the same address the controller recorded.
  for (const c of made) assert.equal(cl.agents[c.host]?.containers.get(c.name)?.spec.ipv4, c.spec.ipv4);
  const bridges = Object.values(cl.agents).map((a) => a.network?.bridgeAddress);
  assert.ok(!addrs.some((a) => bridges.includes(a)), "a container got a bridge's address");

  await assert.rejects(cl.client.create({ spec: small("extra"), host: "", start: false }), {
    code: "resource_exhausted",
    message: "the container network 10.250.0.0/28 has no free address left",
  });
  // The failed create left nothing behind.
  await assert.rejects(cl.client.get("extra"), { code: "not_found" });

  const view = await cl.client.showNetwork();
  assert.equal(view.pool, "10.250.0.0/28");
  assert.equal(view.free, 0);
  assert.deepEqual(view.addresses.filter((a) => a.kind === "host").map((a) => a.holder).sort(), ["host1", "host2", "host3"]);
  const c3 = view.addresses.find((a) => a.holder === "c3");
  assert.deepEqual(c3, { address: made[3]!.spec.ipv4!.split("/")[0], kind: "container", holder: "c3", host: made[3]!.host });

  await cl.client.remove("c3", true);
  const again = await cl.client.create({ spec: small("c3b"), host: "", start: false });
  assert.equal(again.spec.ipv4, made[3]!.spec.ipv4, "the freed address is the only one left");
  // Memory equals SQLite reloaded: the addresses too.
  const store = cl.controller.store;
  assert.deepEqual(ClusterState.load(store.db).dump(), store.state.dump());
});

test("an address asked for must be in the pool and free; without a pool none is given", async (t) => {
  const cl = await startCluster(["host1"], { network: { pool: "10.251.0.0/24" } });
  t.after(() => cl.close());
  const a = await cl.client.create({ spec: { ...small("a"), ipv4: "10.251.0.77/24" }, host: "", start: false });
  assert.equal(a.spec.ipv4, "10.251.0.77/24");
  await assert.rejects(cl.client.create({ spec: { ...small("b"), ipv4: "10.251.0.77/24" }, host: "", start: false }), {
    code: "already_exists",
    message: "address 10.251.0.77 is held by container a",
  });
  await assert.rejects(cl.client.create({ spec: { ...small("c"), ipv4: "10.9.9.9/24" }, host: "", start: false }), {
    code: "invalid_argument",
    message: "address 10.9.9.9 is not in the container network 10.251.0.0/24",
  });
  const plain = await startCluster(["host1"]);
  t.after(() => plain.close());
  const d = await plain.client.create({ spec: small("d"), host: "", start: false });
  assert.equal(d.spec.ipv4, undefined);
  assert.equal((await plain.client.showNetwork()).pool, "");
});

test("a create or a migration onto a host where another container publishes the same port is refused before anything moves", async (t) => {
  const cl = await startCluster(["host1", "host2"], { network: { pool: "10.252.0.0/24" } });
  t.after(() => cl.close());
  const port = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" as const }];
  await cl.client.create({ spec: { ...small("a"), ports: port }, host: "host1", start: true });
  await cl.client.create({ spec: { ...small("b"), ports: port }, host: "host2", start: true });
  const { items, error } = await collect(cl.client.migrate("b", "host1", "none"));
  assert.equal(items.length, 0);
  assert.ok(error instanceof CorralError);
  assert.equal(error.code, "failed_precondition");
  assert.equal(error.message, 'cannot migrate b to host1: port 8080/tcp is already published on host1 by container "a"');
  assert.deepEqual(cl.agents.host2?.calls.filter((c) => c.startsWith("stop")), []);
  assert.equal((await cl.client.get("b")).host, "host2");
  await assert.rejects(cl.client.create({ spec: { ...small("c"), ports: port }, host: "host1", start: false }), {
    code: "failed_precondition",
    message: 'cannot place c on host1: port 8080/tcp is already published on host1 by container "a"',
  });
  assert.deepEqual(cl.agents.host1?.calls.filter((c) => c === "create c"), []);
  // Without --host the scheduler's port filter keeps such a create off host1: it lands on host2.
  for (const hostPort of [9001, 9002, 9003, 9004]) {
    const p = [{ hostPort, containerPort: 80, protocol: "tcp" as const }];
    await cl.client.create({ spec: { ...small(`on1-${hostPort}`), ports: p }, host: "host1", start: false });
    const placed = await cl.client.create({ spec: { ...small(`free-${hostPort}`), ports: p }, host: "", start: false });
    assert.equal(placed.host, "host2", `port ${hostPort}`);
  }
});
