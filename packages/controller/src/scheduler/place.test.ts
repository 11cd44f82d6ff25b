import { test } from "node:test";
import assert from "node:assert/strict";
import { CorralError } from "@corral/wire";
import { place, NoPlacementError } from "./place.js";
import type { HostSnapshot, PlacementAsk } from "./types.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function host(name: string, over: Partial<HostSnapshot> = {}): HostSnapshot {
  return {
    name,
    state: "ready",
    backends: [
      { name: "lxc", available: true, reason: "", capabilities: [] },
      { name: "docker", available: false, reason: "no dockerd", capabilities: [] },
    ],
    cpus: 2,
    memoryBytes: 2 * GiB,
    reservedMemoryBytes: 0,
    reservedCpus: 0,
    ...over,
  };
}
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected an error");
}

const ask = (over: Partial<PlacementAsk> = {}): PlacementAsk => ({
  name: "c1",
  backend: "lxc",
  memoryBytes: 256 * MiB,
  cpus: 1,
  ...over,
});

test("binpack picks the host that is fullest after placement", () => {
  const hosts = [host("h1"), host("h2", { reservedMemoryBytes: GiB, reservedCpus: 1 }), host("h3", { reservedMemoryBytes: 512 * MiB })];
  for (const seed of [1, 2, 3, 42]) assert.equal(place(hosts, ask(), { seed }).host, "h2");
});

test("spread picks the emptiest host", () => {
  const hosts = [host("h1", { reservedMemoryBytes: 512 * MiB }), host("h2", { reservedMemoryBytes: GiB }), host("h3")];
  assert.equal(place(hosts, ask(), { seed: 7, algorithm: "spread" }).host, "h3");
});

test("each unfit host is rejected with its own reason", () => {
  const hosts = [
    host("down1", { state: "down" }),
    host("cord1", { state: "cordoned" }),
    host("nolxc", { backends: [] }),
    host("small", { reservedMemoryBytes: 2 * GiB - 100 * MiB }),
    host("twocpu"),
  ];
  const e = thrown(() => place(hosts, ask({ cpus: 4 }), { seed: 1 }));
  assert.ok(e instanceof NoPlacementError);
  assert.equal(e.code, "resource_exhausted");
  const reasons = Object.fromEntries(e.verdicts.map((v) => [v.host, v.reason]));
  assert.deepEqual(reasons, {
    down1: "host is down",
    cord1: "host is cordoned",
    nolxc: "backend lxc not available",
    small: "not enough memory: 100 MiB free of 2.0 GiB, 256 MiB requested",
    twocpu: "needs 4 cpus, host has 2",
  });
  assert.match(e.message, /^no host can run c1: cord1: host is cordoned; down1: host is down; /);
});

test("port: a host where another container publishes the asked host port is not chosen", () => {
  const taken = new Map([["8080/tcp", ["web"]]]);
  const hosts = [host("h1", { ports: taken }), host("h2", { reservedMemoryBytes: GiB })];
  // binpack would take the emptier-after h1 over h2 only by score; h1 is filtered out, whatever the seed.
  for (const seed of [1, 2, 3, 42]) assert.equal(place(hosts, ask({ ports: ["8080/tcp"] }), { seed }).host, "h2");
  // Another port, or the other protocol, is free there.
  assert.ok(["h1", "h2"].includes(place(hosts, ask({ ports: ["8080/udp", "80/tcp"] }), { seed: 1, explain: true }).host));
  const e = thrown(() => place(hosts, ask({ ports: ["8080/tcp"] }), { host: "h1" }));
  assert.ok(e instanceof NoPlacementError);
  assert.equal(e.code, "failed_precondition");
  assert.equal(e.message, 'cannot place c1 on h1: port 8080/tcp is already published on h1 by container "web"');
  assert.equal(e.verdicts[0]?.filter, "port");
  // A container's own port does not keep it off its own host (a move's placement visits it too).
  assert.equal(place([host("h1", { ports: taken })], ask({ name: "web", ports: ["8080/tcp"] }), { seed: 1 }).host, "h1");
  // When no host is free, the message names each one's holder.
  const none = thrown(() => place([host("h1", { ports: taken })], ask({ ports: ["8080/tcp"] }), { seed: 1 }));
  assert.ok(none instanceof NoPlacementError);
  assert.match(none.message, /h1: port 8080\/tcp is already published on h1 by container "web"/);
});

test("docker asked on a host without dockerd is rejected", () => {
  assert.throws(() => place([host("h1")], ask({ backend: "docker" })), /h1: backend docker not available/);
});

test("--host: only that host is considered and its rejection is the error", () => {
  const hosts = [host("h1"), host("h2", { state: "down" })];
  assert.equal(place(hosts, ask(), { host: "h1" }).host, "h1");
  const err = thrown(() => place(hosts, ask(), { host: "h2" }));
  assert.ok(err instanceof CorralError);
  assert.equal(err.code, "unavailable");
  assert.equal(err.message, "cannot place c1 on h2: host is down");
  assert.throws(() => place(hosts, ask(), { host: "nope" }), { code: "not_found", message: 'host "nope" not found (known: h1, h2)' });
});

test("the same seed gives the same decision; sampling bounds the hosts scored", () => {
  // 100 identical hosts: every score ties, so the shuffle alone decides.
  const hosts = Array.from({ length: 100 }, (_, i) => host(`h${String(i).padStart(3, "0")}`));
  const a = place(hosts, ask(), { seed: 1234 });
  const b = place([...hosts].reverse(), ask(), { seed: 1234 });
  assert.equal(a.host, b.host);
  assert.equal(a.verdicts.length, 20);
  assert.equal(a.verdicts.filter((v) => v.score !== undefined).length, 20);
  const others = new Set([1, 2, 3, 4, 5, 6].map((seed) => place(hosts, ask(), { seed }).host));
  assert.ok(others.size > 1, "different seeds should spread choices among tied hosts");
});

test("unlimited containers reserve nothing and fit anywhere ready", () => {
  const plan = place([host("h1", { reservedMemoryBytes: 2 * GiB })], ask({ memoryBytes: 0, cpus: 0 }), { seed: 1 });
  assert.equal(plan.host, "h1");
});

test("nothing fits on a large cluster: the message counts the hosts by filter; the verdicts name every one", () => {
  const hosts = Array.from({ length: 30 }, (_, i) => host(`h${String(i).padStart(2, "0")}`, i < 10 ? { state: "down" } : { reservedMemoryBytes: 2 * GiB }));
  const e = thrown(() => place(hosts, ask(), { seed: 3 }));
  assert.ok(e instanceof NoPlacementError);
  assert.equal(e.verdicts.length, 30);
  assert.equal(
    e.message,
    "no host can run c1: 30 hosts rejected (memory 20, state 10); h00: host is down; h01: host is down; h02: host is down; …",
  );
});

test("disk limits are reserved as memory is: within size × overcommit, and within what the host reports free", () => {
  const hosts = [
    host("full", { diskBytes: 100 * GiB, reservedDiskBytes: 90 * GiB }),
    host("roomy", { diskBytes: 100 * GiB, reservedDiskBytes: 40 * GiB, overcommit: 2 }),
    host("tight", { diskBytes: 100 * GiB, reservedDiskBytes: 0, diskFreeBytes: 5 * GiB }),
  ];
  const e = thrown(() => place(hosts, ask({ diskBytes: 200 * GiB }), { seed: 3 }));
  assert.ok(e instanceof NoPlacementError);
  assert.deepEqual(
    e.verdicts.map((v) => [v.host, v.filter, v.reason]),
    [
      ["full", "disk", "not enough disk: 10.0 GiB unreserved of 100 GiB, 200 GiB requested"],
      ["roomy", "disk", "not enough disk: 160 GiB unreserved of 200 GiB, 200 GiB requested"],
      ["tight", "disk", "not enough disk: 100 GiB unreserved of 100 GiB, 200 GiB requested"],
    ],
  );
  // 150 GiB: only the host whose ratio of 2 leaves 160 GiB unreserved.
  assert.equal(place(hosts, ask({ diskBytes: 150 * GiB }), { seed: 3 }).host, "roomy");
  // 8 GiB: "full" has 10 unreserved, "tight" has room reserved but only 5 GiB free on its disk.
  const small = place(hosts, ask({ diskBytes: 8 * GiB }), { seed: 3, explain: true });
  assert.deepEqual(small.verdicts.find((v) => v.host === "tight")?.reason, "not enough disk: the host reports 5.0 GiB free, 8.0 GiB requested");
  // A host that reported no disk size is not judged on reservations.
  assert.equal(place([host("unknown", { diskBytes: 0, reservedDiskBytes: 10 * GiB })], ask({ diskBytes: GiB }), { seed: 1 }).host, "unknown");
});
