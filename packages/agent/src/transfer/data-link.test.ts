// The agent-to-agent data connection (data-link.ts) between two real agents on loopback, real LXC
// under two lxcpaths: a move over it, and everything it must refuse (unknown, foreign and replayed
// tokens, certificates from another CA or of another kind, an impostor target), a connection cut
// mid-copy, and a pause before tar's end-of-archive padding.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { connect } from "node:tls";
import { once } from "node:events";
import pino from "pino";
import {
  AgentClient,
  CONTROLLER_IDENTITY,
  TLS_SERVER_NAME,
  createCertificateAuthority,
  issueCredentials,
  writeHostCredentials,
  type ContainerRef,
  type ExecOutput,
  type TlsCredentials,
} from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";
import { ustar } from "../archive/test-ustar.js";
import { extractTarSafely } from "../archive/safe-extract.js";
import { FRAME, dialData, frameHeader, listenData, readControl, writeAll, writeControl } from "./data-link.js";

const log = pino({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "corral-datalink-"));
chmodSync(root, 0o711); // LXC containers are unprivileged: their mapped root must reach the rootfs
interface Host {
  name: string;
  agent: RunningAgent;
  client: AgentClient;
  data: string;
  lxcPath: string;
}
const hosts: Host[] = [];
let hostX: TlsCredentials;
let controllerTls: TlsCredentials;
let foreign: TlsCredentials;
const token = () => randomBytes(32).toString("hex");
const prepared = (t: string, r: ContainerRef, from: string, to: string) => ({
  token: t,
  ref: r,
  compression: "none" as const,
  expectedBytes: 0,
  migrationId: `m-${randomBytes(6).toString("hex")}`,
  sourceHost: from,
  targetHost: to,
});
const header = (t: string, r: ContainerRef, sourceHost: string, totalBytes = 0) => ({
  mode: "archive",
  token: t,
  ref: r,
  compression: "none",
  totalBytes,
  sourceHost,
  archiveFormat: "lxc-dir-tar/1",
});

async function run(c: AgentClient, ref: ContainerRef, script: string): Promise<{ out: string; code: number }> {
  let out = "";
  let code = -1;
  for await (const o of c.exec({ ref, argv: ["sh", "-c", script], env: [] }) as AsyncIterable<ExecOutput>) {
    if (o.kind === "stdout") out += o.data.toString();
    else if (o.kind === "exit") code = o.code;
  }
  return { out, code };
}

before(async () => {
  const ca = await createCertificateAuthority();
  controllerTls = await issueCredentials(ca, CONTROLLER_IDENTITY);
  hostX = await issueCredentials(ca, { kind: "host", name: "x" });
  // A host certificate with the right name, from another cluster's CA.
  foreign = await issueCredentials(await createCertificateAuthority("another cluster"), { kind: "host", name: "x" });
  for (const h of ["dla", "dlb"]) {
    const name = `${h}${process.pid % 1000}`;
    const cfg = parseAgentConfig(["--name", name, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, h)]);
    writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name }));
    const agent = await startAgent(cfg, log, { report: false });
    const client = new AgentClient(agent.address, controllerTls, { kind: "host", name });
    const info = await client.hostInfo();
    assert.match(info.dataAddress ?? "", /^127\.0\.0\.1:\d+$/, "the agent advertises its data listener");
    hosts.push({ name, agent, client, data: info.dataAddress!, lxcPath: cfg.lxcPath });
  }
});

after(async () => {
  for (const h of hosts) {
    for (const name of ["dlmover", "dlpaced"]) await h.client.remove({ name, backend: "lxc" }).catch(() => undefined);
    h.client.close();
    await h.agent.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const staging = (h: Host) => readdirSync(join(h.lxcPath, ".corral-staging"));

test("a container moves over the data connection, verified at both ends, and its token works once", async () => {
  const [a, b] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlmover", backend: "lxc" };
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await a.client.start(ref);
  const w = await run(a.client, ref, "head -c 3000000 /dev/urandom > /root/blob; ln /root/blob /root/hard; sha256sum /root/blob");
  assert.equal(w.code, 0);
  await a.client.stop(ref, 10);
  const t = token();
  await b.client.prepareReceive(prepared(t, ref, a.name, b.name));
  // An impostor: b's listener, but the source was told the target is a.
  await assert.rejects(async () => {
    for await (const _ of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: a.name, token: t, compression: "none", dataAddress: b.data }));
  }, new RegExp(`server certificate names host ${b.name}, expected corral://host/${a.name}`));
  let last;
  for await (const p of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none", dataAddress: b.data })) last = p;
  assert.ok(last?.done);
  assert.ok(last.bytes > 3_000_000);
  assert.equal((await b.client.commitReceive(t)).state, "stopped");
  await b.client.start(ref);
  const r = await run(b.client, ref, "sha256sum /root/blob; stat -c %h /root/blob");
  assert.equal(r.out, `${w.out}2\n`, "content and the hard link arrive");
  await b.client.stop(ref, 10);
  assert.deepEqual(staging(b), []);
  // Replayed: the token was spent by the first stream.
  await assert.rejects(async () => {
    for await (const _ of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none", dataAddress: b.data }));
  }, /unknown, expired or already used transfer token/);
  await a.client.remove(ref);
});

test("a pre-copy move: a pass while running, a final pass stopped, then the rest archive on a second connection with the same token", async () => {
  const [a, b] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlpre", backend: "lxc" };
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await a.client.start(ref);
  assert.equal((await run(a.client, ref, "head -c 2000000 /dev/urandom > /root/blob; echo one > /root/f")).code, 0);
  const t = token();
  await b.client.prepareReceive(prepared(t, ref, a.name, b.name));
  const send = async (precopyPass: "first" | "final") => {
    let last;
    for await (const p of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none", dataAddress: b.data, precopyPass })) last = p;
    assert.ok(last?.done);
    return last;
  };
  assert.ok((await send("first")).bytes > 2_000_000);
  assert.equal((await run(a.client, ref, "echo two >> /root/f; rm /root/blob")).code, 0);
  await a.client.stop(ref, 10);
  const final = await send("final");
  assert.ok(final.bytes < 1_000_000, `the rest archive is small (${final.bytes} bytes)`);
  assert.equal((await b.client.commitReceive(t)).state, "stopped");
  const root = join(b.lxcPath, ref.name, "rootfs", "root");
  assert.deepEqual([readdirSync(root), readFileSync(join(root, "f"), "utf8")], [["f"], "one\ntwo\n"], "the final pass carried the change and the deletion");
  assert.deepEqual(staging(b), []);
  await b.client.remove(ref);
  await a.client.remove(ref);
});

test("unknown and foreign tokens are refused before a byte lands", async () => {
  const [a, b] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlforeign", backend: "lxc" };
  const t = token();
  await b.client.prepareReceive(prepared(t, ref, a.name, b.name));
  const attempt = async (tls: TlsCredentials, h: Record<string, unknown>) => {
    const sock = await dialData(b.data, tls, b.name);
    try {
      writeControl(sock, FRAME.header, h);
      return await readControl(sock, "admission");
    } finally {
      sock.destroy();
    }
  };
  await assert.rejects(attempt(hostX, header(token(), ref, "x")), (e: Error & { code?: string }) => e.code === "permission_denied" && /unknown, expired or already used/.test(e.message));
  // The token is bound to source host a: host x presenting it (and claiming to be a) is refused.
  await assert.rejects(attempt(hostX, header(t, ref, a.name)), /transfer token is bound to source host "dla\d*", the connection is from "x"/);
  // Both refusals spent nothing of b's disk.
  assert.deepEqual(staging(b), []);
  await b.client.abortReceive(t, ref);
});

test("the data listener refuses a certificate from another CA and one that is not a host's", async () => {
  const [, b] = hosts as [Host, Host];
  const [host, port] = [b.data.split(":")[0]!, Number(b.data.split(":")[1])];
  // Another cluster's certificate: the handshake itself fails, nothing reaches the handler.
  const sock = connect({ host, port, ca: foreign.ca, key: foreign.key, cert: foreign.cert, servername: TLS_SERVER_NAME, rejectUnauthorized: false });
  sock.on("error", () => undefined);
  const closed = once(sock, "close");
  sock.write(frameHeader(FRAME.header, 2));
  sock.write("{}");
  let got = "";
  sock.on("data", (d: Buffer) => (got += d.toString()));
  await closed;
  assert.equal(got, "", "nothing is answered to a certificate from another CA");
  // The controller's certificate is from the right CA but is not a host's.
  const ctl = await dialData(b.data, controllerTls, b.name);
  await assert.rejects(readControl(ctl, "admission"), (e: Error & { code?: string }) => e.code === "permission_denied" && /only for cluster hosts/.test(e.message));
  ctl.destroy();
});

test("the data link speaks TLS 1.3 with AES-128-GCM first, still takes AES-256-GCM, and refuses TLS 1.2", async () => {
  const [, b] = hosts as [Host, Host];
  const ours = await dialData(b.data, hostX, b.name);
  assert.deepEqual([ours.getProtocol(), ours.getCipher().name], ["TLSv1.3", "TLS_AES_128_GCM_SHA256"]);
  ours.destroy();
  const [host, port] = [b.data.split(":")[0]!, Number(b.data.split(":")[1])];
  const dial = async (opts: Record<string, unknown>) => {
    const sock = connect({ host, port, ca: hostX.ca, key: hostX.key, cert: hostX.cert, servername: TLS_SERVER_NAME, checkServerIdentity: () => undefined, ...opts });
    sock.on("error", () => undefined);
    try {
      await once(sock, "secureConnect");
      return sock.getCipher().name;
    } finally {
      sock.destroy();
    }
  };
  assert.equal(await dial({ ciphers: "TLS_AES_256_GCM_SHA384" }), "TLS_AES_256_GCM_SHA384");
  await assert.rejects(dial({ maxVersion: "TLSv1.2" }));
});

test("a connection dropped mid-copy leaves no staging, and the token is spent", async () => {
  const [, b] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlcut", backend: "lxc" };
  const t = token();
  await b.client.prepareReceive(prepared(t, ref, "x", b.name));
  const sock = await dialData(b.data, hostX, b.name);
  writeControl(sock, FRAME.header, header(t, ref, "x", 10_000_000));
  assert.equal((await readControl(sock, "admission")).kind, FRAME.admitted);
  const archive = ustar([{ name: "dlcut/rootfs/a", data: randomBytes(200_000) }]);
  const part = archive.subarray(0, 100_000);
  await writeAll(sock, frameHeader(FRAME.data, part.length), part);
  sock.destroy();
  for (let i = 0; i < 50 && staging(b).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(staging(b), []);
  await assert.rejects(b.client.commitReceive(t), /no verified archive/);
  const again = await dialData(b.data, hostX, b.name);
  writeControl(again, FRAME.header, header(t, ref, "x"));
  await assert.rejects(readControl(again, "admission"), /already used/);
  again.destroy();
});

test("a pause before tar's end-of-archive padding does not fail the extraction", async () => {
  const dir = mkdtempSync(join(root, "pause-"));
  const tar = ustar([{ name: "f", data: "hello" }]);
  async function* slow() {
    yield tar; // ends with the end-of-archive marker
    await new Promise((r) => setTimeout(r, 300));
    yield Buffer.alloc(9 * 1024); // record padding, late
  }
  await extractTarSafely(Readable.from(slow()), dir);
  assert.equal(readFileSync(join(dir, "f"), "utf8"), "hello");
  // Padding that is not zeros is still refused.
  const bad = mkdtempSync(join(root, "pause-"));
  async function* smuggle() {
    yield tar;
    await new Promise((r) => setTimeout(r, 100));
    yield Buffer.from("smuggled");
  }
  await assert.rejects(extractTarSafely(Readable.from(smuggle()), bad), /data after the end of the archive/);
});

test("--bwlimit paces the data connection", async () => {
  const [a, b] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlpaced", backend: "lxc" };
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await a.client.start(ref);
  assert.equal((await run(a.client, ref, "head -c 6000000 /dev/urandom > /root/blob")).code, 0);
  await a.client.stop(ref, 10);
  const t = token();
  await b.client.prepareReceive(prepared(t, ref, a.name, b.name));
  const limit = 2 * 1024 * 1024;
  const t0 = Date.now();
  let last;
  for await (const p of a.client.sendArchive({ ref, targetAddress: b.agent.address, targetHost: b.name, token: t, compression: "none", bwlimitBytesPerSecond: limit, dataAddress: b.data })) last = p;
  const took = Date.now() - t0;
  assert.ok(last?.done);
  assert.ok(took >= ((last.bytes - 256 * 1024) * 1000) / limit, `${last.bytes} bytes took ${took} ms at ${limit} B/s`);
  assert.equal((await b.client.commitReceive(t)).state, "stopped");
});

test("a target that resets the connection mid-copy fails the send with a reason, and the source agent lives on", async () => {
  const [a] = hosts as [Host, Host];
  const ref: ContainerRef = { name: "dlreset", backend: "lxc" };
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  // A target (host x) that admits the stream, takes some bytes, then resets the connection.
  const target = await listenData(
    "127.0.0.1",
    hostX,
    async (sock) => {
      await readControl(sock, "header");
      writeControl(sock, FRAME.admitted, {});
      for await (const _ of sock) {
        sock.resetAndDestroy();
        break;
      }
    },
    () => undefined,
  );
  try {
    await assert.rejects(async () => {
      for await (const _ of a.client.sendArchive({ ref, targetAddress: "127.0.0.1:1", targetHost: "x", token: token(), compression: "none", dataAddress: `127.0.0.1:${target.port}` }));
    }, /sending dlreset to 127\.0\.0\.1:1 failed: .*(ECONNRESET|closed)/);
    assert.equal((await a.client.hostInfo()).name, a.name, "the source agent still answers");
  } finally {
    await target.close();
    await a.client.remove(ref).catch(() => undefined);
  }
});

test("a dry run's probe crosses the real data path: the target answers with its free staging; an impostor or a closed port is named", async () => {
  const [a, b] = hosts as [Host, Host];
  const p = await a.client.probePeer({ targetHost: b.name, dataAddress: b.data, targetBackend: "lxc" });
  assert.ok(p.stagingFreeBytes > 0, `free staging reported: ${p.stagingFreeBytes}`);
  assert.ok(p.roundTripMs >= 0);
  assert.deepEqual(staging(b), [], "a probe leaves nothing behind");
  // b's listener, but a was told the target is a: the handshake refuses the wrong name.
  await assert.rejects(a.client.probePeer({ targetHost: a.name, dataAddress: b.data, targetBackend: "lxc" }), new RegExp(`${a.name} cannot reach the data listener of ${a.name}.*expected corral://host/${a.name}`));
  const closed = await listenData("127.0.0.1", hostX, async () => undefined, () => undefined);
  await closed.close();
  await assert.rejects(a.client.probePeer({ targetHost: b.name, dataAddress: `127.0.0.1:${closed.port}`, targetBackend: "lxc" }), new RegExp(`cannot reach the data listener of ${b.name} at 127\\.0\\.0\\.1:${closed.port}`));
  // Only the controller may ask for a probe.
  const asHost = new AgentClient(a.agent.address, hostX, { kind: "host", name: a.name });
  await assert.rejects(asHost.probePeer({ targetHost: b.name, dataAddress: b.data, targetBackend: "lxc" }), /permission|denied|controller/i);
  asHost.close();
});
