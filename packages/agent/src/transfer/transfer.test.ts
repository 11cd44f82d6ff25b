// Two real agents (gRPC on loopback, real LXC under two lxcpaths) move a container between them the
// way the controller drives it: prepare on the target, send from the source, commit, start.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  AgentClient,
  CONTROLLER_IDENTITY,
  createCertificateAuthority,
  issueCredentials,
  writeHostCredentials,
  type ArchiveChunk,
  type ContainerRef,
  type ExecOutput,
} from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";
import { ustar } from "../archive/test-ustar.js";

const log = pino({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "corral-transfer-"));
chmodSync(root, 0o711); // LXC containers are unprivileged: their mapped root must reach the rootfs
/** `client` drives an agent as the controller; `fromX` speaks to it as peer host "x" (archive streams). */
const hosts: { name: string; agent: RunningAgent; client: AgentClient; fromX: AgentClient; lxcPath: string }[] = [];
const ref: ContainerRef = { name: "mover", backend: "lxc" };
const token = () => randomBytes(32).toString("hex");
const migrationId = () => `m-${randomBytes(6).toString("hex")}`;
type Host = { name: string };
/** The announcement the controller makes: the token bound to the migration and its two hosts. */
const prepared = (t: string, r: ContainerRef, from: Host, to: Host, compression: "none" | "zstd" = "none") => ({
  token: t,
  ref: r,
  compression,
  expectedBytes: 0,
  migrationId: migrationId(),
  sourceHost: from.name,
  targetHost: to.name,
});

async function collect(it: AsyncIterable<ExecOutput>): Promise<{ out: string; code: number }> {
  let out = "";
  let code = -1;
  for await (const o of it) {
    if (o.kind === "stdout") out += o.data.toString();
    else if (o.kind === "exit") code = o.code;
  }
  return { out, code };
}

before(async () => {
  // One cluster CA: each agent holds its host certificate, the test drives them as the controller.
  const ca = await createCertificateAuthority();
  const controller = await issueCredentials(ca, CONTROLLER_IDENTITY);
  const hostX = await issueCredentials(ca, { kind: "host", name: "x" });
  for (const h of ["xfera", "xferb"]) {
    const name = `${h}${process.pid % 1000}`;
    const cfg = parseAgentConfig(["--name", name, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, h)]);
    writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name }));
    const agent = await startAgent(cfg, log, { report: false });
    const client = new AgentClient(agent.address, controller, { kind: "host", name });
    hosts.push({ name, agent, client, fromX: new AgentClient(agent.address, hostX, { kind: "host", name }), lxcPath: cfg.lxcPath });
  }
});

after(async () => {
  for (const h of hosts) {
    await h.client.remove(ref).catch(() => undefined);
    h.client.close();
    h.fromX.close();
    await h.agent.close();
  }
  rmSync(root, { recursive: true, force: true });
});

test("a stopped container moves between agents with its files, verified by SHA-256 at both ends", async () => {
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await a.client.start(ref);
  const w = await collect(a.client.exec({ ref, argv: ["sh", "-c", "head -c 3000000 /dev/urandom > /root/blob; sha256sum /root/blob"], env: [] }));
  assert.equal(w.code, 0);
  await a.client.stop(ref, 10);

  const t = token();
  await b.client.prepareReceive(prepared(t, ref, a, b));
  let last;
  // Sent to b's address but naming a as the target: the source refuses to stream to whoever answers.
  await assert.rejects(
    async () => {
      for await (const _ of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: a.name, token: t, compression: "none" }));
    },
    new RegExp(`failed TLS verification: server certificate names host ${b.name}, expected corral://host/${a.name}`),
  );
  for await (const p of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none" })) last = p;
  assert.ok(last?.done);
  assert.match(last.sha256, /^[0-9a-f]{64}$/);
  assert.ok(last.bytes > 3_000_000 && last.totalBytes > 3_000_000);

  assert.equal((await b.client.commitReceive(t)).state, "stopped");
  assert.equal((await b.client.start(ref)).state, "running");
  const r = await collect(b.client.exec({ ref, argv: ["sha256sum", "/root/blob"], env: [] }));
  assert.equal(r.out, w.out);
  assert.deepEqual(readdirSync(join(b.lxcPath, ".corral-staging")), []);

  // The token was used once; a second send with it is refused.
  await b.client.stop(ref, 10);
  await assert.rejects(
    async () => {
      for await (const _ of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none" }));
    },
    /transfer token/,
  );
  await a.client.remove(ref);
});

test("with zstd on the wire the container arrives the same", async () => {
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  // The container is on b now (moved by the previous test); move it back compressed.
  const t = token();
  await a.client.prepareReceive(prepared(t, ref, b, a, "zstd"));
  let last;
  for await (const p of b.client.sendArchive({ ref, targetAddress: a.agent.address, targetHost: a.name, token: t, compression: "zstd" })) last = p;
  assert.ok(last?.done);
  await a.client.commitReceive(t);
  assert.equal((await a.client.start(ref)).state, "running");
  assert.equal((await collect(a.client.exec({ ref, argv: ["test", "-s", "/root/blob"], env: [] }))).code, 0);
  await a.client.stop(ref, 10);
  await b.client.remove(ref);
});

test("an unknown token is refused before a byte is written", async () => {
  const [, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  async function* chunks(): AsyncGenerator<ArchiveChunk> {
    yield { kind: "header", header: { token: token(), ref: { name: "intruder", backend: "lxc" }, compression: "none", totalBytes: 0, sourceHost: "x", archiveFormat: "lxc-dir-tar/1" } };
    yield { kind: "data", data: Buffer.alloc(512) };
  }
  await assert.rejects(b.fromX.receiveArchive(chunks()), (e: Error & { code?: string }) => e.code === "permission_denied");
});

test("a hostile archive is refused, its staging removed, and nothing is created", async () => {
  const [, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  const t = token();
  const evil = { name: "evil", backend: "lxc" as const };
  // Host x, with a valid certificate of its own, is the source of this migration and sends a hostile archive.
  await b.client.prepareReceive(prepared(t, evil, { name: "x" }, b));
  const archive = ustar([{ name: "/etc/corral-pwned", data: "evil" }]);
  async function* chunks(): AsyncGenerator<ArchiveChunk> {
    yield { kind: "header", header: { token: t, ref: evil, compression: "none", totalBytes: archive.length, sourceHost: "x", archiveFormat: "lxc-dir-tar/1" } };
    yield { kind: "data", data: archive };
    yield { kind: "trailer", trailer: { sha256: "0".repeat(64), bytes: archive.length } };
  }
  await assert.rejects(b.fromX.receiveArchive(chunks()), /unsafe archive: member "\/etc\/corral-pwned" is an absolute path/);
  assert.equal(existsSync("/etc/corral-pwned"), false);
  assert.deepEqual(readdirSync(join(b.lxcPath, ".corral-staging")), []);
  await assert.rejects(b.client.commitReceive(t), /no verified archive/);
  await assert.rejects(b.client.inspect(evil), /not found/);
});

test("an archive is accepted only from a host certificate, and only for the host it claims to come from", async () => {
  const [, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  const t = token();
  const ref2 = { name: "claimed", backend: "lxc" as const };
  await b.client.prepareReceive(prepared(t, ref2, { name: "x" }, b));
  const header = (sourceHost: string): ArchiveChunk => ({ kind: "header", header: { token: t, ref: ref2, compression: "none", totalBytes: 0, sourceHost, archiveFormat: "lxc-dir-tar/1" } });
  async function* claiming(sourceHost: string): AsyncGenerator<ArchiveChunk> {
    yield header(sourceHost);
    yield { kind: "data", data: Buffer.alloc(512) };
  }
  // Host x's certificate, claiming to be host y.
  await assert.rejects(b.fromX.receiveArchive(claiming("y")), (e: Error & { code?: string }) => {
    assert.equal(e.code, "permission_denied");
    assert.equal(e.message, 'transfer token is bound to source host "x", stream says "y"');
    return true;
  });
  // The controller's certificate cannot push an archive at all.
  await assert.rejects(b.client.receiveArchive(claiming("x")), (e: Error & { code?: string }) => {
    assert.equal(e.code, "permission_denied");
    assert.match(e.message, /^an archive transfer is only for a host; the caller's certificate names the controller$/);
    return true;
  });
  await b.client.abortReceive(t, ref2);
});

test("a send capped by bwlimit takes at least bytes / limit and arrives whole", async () => {
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  const paced: ContainerRef = { name: "paced", backend: "lxc" };
  try {
    await a.client.create({ name: paced.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
    await a.client.start(paced);
    assert.equal((await collect(a.client.exec({ ref: paced, argv: ["sh", "-c", "head -c 6000000 /dev/urandom > /root/blob"], env: [] }))).code, 0);
    await a.client.stop(paced, 10);
    const t = token();
    await b.client.prepareReceive(prepared(t, paced, a, b));
    const limit = 2 * 1024 * 1024;
    const t0 = Date.now();
    let last;
    for await (const p of a.client.sendArchive({ ref: paced, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none", bwlimitBytesPerSecond: limit })) last = p;
    const took = Date.now() - t0;
    assert.ok(last?.done, "the send finished");
    // The first chunk (1 MiB) leaves at once and the last goes right after the one before it.
    assert.ok(took >= ((last.bytes - 2 * 1024 * 1024) * 1000) / limit, `${last.bytes} bytes took ${took} ms at ${limit} B/s`);
    assert.equal((await b.client.commitReceive(t)).state, "stopped");
  } finally {
    for (const h of [a, b]) await h.client.remove(paced).catch(() => undefined);
  }
});
