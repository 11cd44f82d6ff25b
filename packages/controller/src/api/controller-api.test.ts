import { createHash } from "node:crypto";
// The CLI's API over real gRPC against a real controller and scripted agents.
import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { CorralError, type ImageChunk } from "@corral/wire";
import { collect, startCluster } from "../test-support/cluster.js";
import { specOf } from "../test-support/scripted-agent.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function outboxSubjects(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare("SELECT subject FROM events ORDER BY id").all() as { subject: string }[]).map((r) => r.subject);
  } finally {
    db.close();
  }
}

test("create places, records and starts; the events are in the outbox", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const c = await cl.client.create({ spec: specOf("web"), host: "", start: true });
  assert.equal(c.state, "running");
  assert.equal(c.desiredState, "running");
  assert.equal(cl.agents[c.host]?.containers.get("web")?.state, "running");
  const hosts = await cl.client.listHosts();
  assert.equal(hosts.find((h) => h.name === c.host)?.reservedMemoryBytes, 256 * MiB);
  // binpack: the next container goes where the first one is.
  const d = await cl.client.create({ spec: specOf("db"), host: "", start: false });
  assert.equal(d.host, c.host);
  assert.equal(d.state, "stopped");
  assert.deepEqual(outboxSubjects(cl.dbPath), [
    "corral.host.registered",
    "corral.host.registered",
    "corral.container.created",
    "corral.container.started",
    "corral.container.created",
  ]);
});

test("create refuses duplicates, unknown hosts and impossible placements with clear errors", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: false });
  await assert.rejects(cl.client.create({ spec: specOf("c1"), host: "", start: false }), {
    code: "already_exists",
    message: 'container "c1" already exists on host1',
  });
  await assert.rejects(cl.client.create({ spec: specOf("c2"), host: "nope", start: false }), {
    code: "not_found",
    message: 'host "nope" not found (known: host1, host2)',
  });
  await assert.rejects(cl.client.create({ spec: { ...specOf("c3"), backend: "docker" }, host: "", start: false }), {
    code: "resource_exhausted",
    message: "no host can run c3: host1: backend docker not available; host2: backend docker not available",
  });
  const big = { ...specOf("c4"), limits: { memoryBytes: 8 * GiB, cpus: 1 } };
  await assert.rejects(cl.client.create({ spec: big, host: "host2", start: false }), {
    code: "resource_exhausted",
    message: "cannot place c4 on host2: not enough memory: 4.0 GiB free of 4.0 GiB, 8.0 GiB requested",
  });
  await assert.rejects(cl.client.create({ spec: specOf("Bad_Name"), host: "", start: false }), { code: "invalid_argument" });
  assert.deepEqual((await cl.client.list()).map((c) => c.name), ["c1"]);
});

test("a create that fails on the agent leaves nothing behind", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const agent = cl.agents.host1!;
  agent.script = { ...agent.script, failCreate: "template busybox not found" };
  await assert.rejects(cl.client.create({ spec: specOf("c1"), host: "host1", start: true }), {
    code: "failed_precondition",
    message: "template busybox not found",
  });
  agent.script = { ...agent.script, failCreate: undefined, failStart: "no init" };
  await assert.rejects(cl.client.create({ spec: specOf("c1"), host: "host1", start: true }), { message: "no init" });
  assert.ok(agent.calls.includes("remove c1"), "the agent-side container is deleted again");
  assert.equal(agent.containers.size, 0);
  assert.deepEqual(await cl.client.list(), []);
  assert.equal((await cl.client.listHosts())[0]?.reservedMemoryBytes, 0);
  agent.script = { ...agent.script, failStart: undefined };
  assert.equal((await cl.client.create({ spec: specOf("c1"), host: "host1", start: true })).state, "running");
});

test("stop, start, remove; removing a running container needs --force", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  await assert.rejects(cl.client.remove("c1", false), {
    code: "failed_precondition",
    message: "container c1 is running; stop it first or use --force",
  });
  assert.equal((await cl.client.stop("c1", 5)).state, "stopped");
  assert.equal((await cl.client.start("c1")).state, "running");
  await cl.client.remove("c1", true);
  assert.deepEqual(cl.agents.host1!.calls.filter((c) => c.endsWith(" c1")), ["create c1", "start c1", "stop c1", "start c1", "stop c1", "remove c1"]);
  await assert.rejects(cl.client.get("c1"), { code: "not_found", message: 'container "c1" not found' });
  assert.equal((await cl.client.listHosts())[0]?.reservedMemoryBytes, 0);
});

test("set limits: applied live, persisted in the spec and the reservation, refused when they do not fit", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  const c = await cl.client.setLimits("c1", { memoryBytes: GiB, cpus: 2 });
  assert.deepEqual(c.spec.limits, { memoryBytes: GiB, cpus: 2 });
  assert.equal((await cl.client.listHosts())[0]?.reservedMemoryBytes, GiB);
  await assert.rejects(cl.client.setLimits("c1", { memoryBytes: 5 * GiB, cpus: 1 }), {
    code: "resource_exhausted",
    message: "cannot set limits of c1 on host1: not enough memory: 4.0 GiB free of 4.0 GiB, 5.0 GiB requested",
  });
  assert.deepEqual((await cl.client.get("c1")).spec.limits, { memoryBytes: GiB, cpus: 2 });
});

test("set limits merges a partial update with the stored spec; an empty one is refused and changes nothing", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: { ...specOf("c1"), limits: { memoryBytes: 256 * 1024 ** 2, cpus: 0.5 } }, host: "host1", start: true });
  assert.deepEqual((await cl.client.setLimits("c1", { memoryBytes: GiB })).spec.limits, { memoryBytes: GiB, cpus: 0.5 });
  assert.deepEqual((await cl.client.setLimits("c1", { cpus: 2 })).spec.limits, { memoryBytes: GiB, cpus: 2 });
  assert.equal((await cl.client.listHosts())[0]?.reservedCpus, 2);
  assert.deepEqual((await cl.client.setLimits("c1", { memoryBytes: 0 })).spec.limits, { memoryBytes: 0, cpus: 2 }, "0 is unlimited, not absent");
  await assert.rejects(cl.client.setLimits("c1", {}), { code: "invalid_argument", message: "nothing to set: give a memory and/or cpus limit" });
  await assert.rejects(cl.client.setLimits("c1", { cpus: -1 }), { code: "invalid_argument", message: "invalid cpus -1: must be 0 (unlimited) or a positive number" });
  assert.deepEqual((await cl.client.get("c1")).spec.limits, { memoryBytes: 0, cpus: 2 });
});

test("ct set and migrate are refused where the host's backend lacks the capability", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  cl.agents.host1!.lxcCapabilities = ["exec", "usage", "migrate"];
  await cl.register(cl.agents.host1!);
  await assert.rejects(cl.client.setLimits("c1", { memoryBytes: GiB, cpus: 1 }), {
    code: "failed_precondition",
    message: "backend lxc on host1 cannot change limits live",
  });
  assert.deepEqual((await cl.client.get("c1")).spec.limits, specOf("c1").limits);
  // --precopy needs the capability on both ends (an agent's backend without rsync, Docker, LXD).
  const pre = await collect(cl.client.migrate("c1", "host2", { compression: "none", precopy: true }));
  assert.equal((pre.error as CorralError | undefined)?.code, "failed_precondition");
  assert.equal((pre.error as Error | undefined)?.message, "cannot pre-copy c1: the lxc backend on host1 has no pre-copy (only LXC has, with rsync installed; Docker and LXD move cold)");
  assert.equal(pre.items.length, 0, "refused before a migration is recorded");
  cl.agents.host2!.lxcCapabilities = ["exec", "live-limits", "usage"];
  await cl.register(cl.agents.host2!);
  const { error } = await collect(cl.client.migrate("c1", "host2", "none"));
  assert.ok(error instanceof Error);
  assert.equal((error as CorralError).code, "failed_precondition");
  assert.equal(error.message, "cannot migrate c1 to host2: its lxc backend cannot receive a migration");
  assert.equal((await cl.client.get("c1")).host, "host1");
});

test("exec relays output, and needs a running container", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: false });
  const stopped = await collect(cl.client.exec("c1", ["echo", "hi"]));
  assert.ok(stopped.error instanceof CorralError);
  assert.deepEqual([stopped.error.code, stopped.error.message], ["failed_precondition", "container c1 is stopped; start it first"]);
  await cl.client.start("c1");
  const { items, error } = await collect(cl.client.exec("c1", ["echo", "hi"]));
  assert.equal(error, undefined);
  assert.deepEqual(items.map((o) => (o.kind === "exit" ? o.code : o.data.toString())), ["echo hi\n", 0]);
});

test("image import fans the tarball out to every host that has the backend", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  async function* upload(hosts: string[]): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header: { name: "alpine", backend: "lxc", sizeBytes: 0, hosts } };
    for (let i = 0; i < 3; i++) yield { kind: "data", data: Buffer.alloc(100_000, i) };
  }
  const all = await cl.client.importImage(upload([]));
  assert.deepEqual(all.map((i) => [i.host, i.sizeBytes]), [["host1", 300_000], ["host2", 300_000]]);
  const one = await cl.client.importImage(upload(["host2"]));
  assert.deepEqual(one.map((i) => i.host), ["host2"]);
  assert.deepEqual(cl.agents.host1!.images, ["alpine"]);
  await assert.rejects(cl.client.importImage(upload(["nope"])), { code: "not_found" });
});

test("a host that lacks an image gets it from the controller on first use, checked by SHA-256; image rm forgets it", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const bytes = Buffer.alloc(300_000, 7);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  async function* upload(): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header: { name: "debian", backend: "lxc", sizeBytes: 0, hosts: ["host1"] } };
    yield { kind: "data", data: bytes };
  }
  const sent = await cl.client.importImage(upload());
  assert.deepEqual(sent.map((i) => [i.host, i.id]), [["host1", `sha256:${sha256}`]]);
  assert.deepEqual(cl.agents.host2!.images, []);
  await cl.client.create({ spec: { ...specOf("c1"), image: "debian" }, host: "host2", start: false });
  // host2 got the very bytes, once, before the create; host1, which had them, got nothing more.
  assert.deepEqual([cl.agents.host2!.images, cl.agents.host2!.imageShas], [["debian"], [sha256]]);
  assert.deepEqual(cl.agents.host1!.images, ["debian"]);
  await cl.client.create({ spec: { ...specOf("c2"), image: "debian" }, host: "host2", start: false });
  assert.deepEqual(cl.agents.host2!.images, ["debian"]);
  await cl.client.remove("c1", false);
  await cl.client.remove("c2", false);
  assert.deepEqual((await cl.client.removeImage("debian")).map((i) => i.host), ["host1", "host2"]);
  assert.deepEqual([cl.agents.host1!.images, cl.agents.host2!.images], [[], []]);
  // Forgotten by the controller too: a create no longer brings it to the host.
  await cl.client.create({ spec: { ...specOf("c3"), image: "debian" }, host: "host2", start: false });
  assert.deepEqual(cl.agents.host2!.images, []);
});

test("image list names the controller's copy (host \"\") beside the hosts' copies, and only the controller's once the hosts lost theirs", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const bytes = Buffer.alloc(200_000, 3);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  async function* upload(): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header: { name: "debian", backend: "lxc", sizeBytes: 0, hosts: ["host1"] } };
    yield { kind: "data", data: bytes };
  }
  await cl.client.importImage(upload());
  // (The scripted agent reports no size for its copies.)
  const listed = async () => (await cl.client.listImages()).map((i) => `${i.host || "(controller)"} ${i.backend} ${i.id} ${i.sizeBytes}`);
  assert.deepEqual(await listed(), [`(controller) lxc sha256:${sha256} 200000`, `host1 lxc sha256:${sha256} 0`]);
  // A host's copy gone (removed by hand, or the host replaced): the controller's is still listed.
  cl.agents.host1!.images.splice(0);
  cl.agents.host1!.imageShas.splice(0);
  assert.deepEqual(await listed(), [`(controller) lxc sha256:${sha256} 200000`]);
});

test("a memory limit below the runtime's minimum is refused at create, and nothing is made", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await assert.rejects(cl.client.create({ spec: { ...specOf("d1"), backend: "docker", image: "app:1", limits: { memoryBytes: 4 * MiB, cpus: 0 } }, host: "host1", start: true }), {
    code: "invalid_argument",
    message: "memory limit 4.0 MiB is below docker's minimum of 6.0 MiB",
  });
  assert.equal((await cl.client.list()).length, 0);
});

test("ct top and host pid go to the container's agent; a PID of no managed container is not_found", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("c1"), host: "host1", start: true });
  assert.deepEqual(await cl.client.listProcesses("c1"), [{ hostPid: 4242, pid: 1, user: "root", hostUid: 0, cpuSeconds: 0, command: "init" }]);
  assert.deepEqual(await cl.client.findPidOwner("host1", 4242), { container: "c1", host: "host1", backend: "lxc", pid: 1 });
  await assert.rejects(cl.client.findPidOwner("host1", 7), { code: "not_found", message: "no container on host1 owns PID 7" });
  await assert.rejects(cl.client.findPidOwner("nohost", 7), { code: "not_found" });
  await cl.client.stop("c1", 1);
  await assert.rejects(cl.client.listProcesses("c1"), { code: "failed_precondition", message: "container c1 is stopped; start it first" });
});
