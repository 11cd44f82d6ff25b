// Trust boundaries over real gRPC on loopback: a real controller (real SQLite, its CA from
// `cluster init`) and scripted agents serving with host certificates they got through Join.
// Every refusal must be a clear error, and nothing the refused caller asked for may happen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import {
  AgentClient,
  CONTROLLER_IDENTITY,
  ControllerClient,
  CorralError,
  RegistryClient,
  createCertificateAuthority,
  createCertificateRequest,
  issueCredentials,
  loadClusterPki,
  type TlsCredentials,
} from "@corral/wire";
import { startCluster, waitFor, type InProcessCluster } from "../test-support/cluster.js";
import { joinHost } from "../test-support/test-pki.js";
import { plaintextHttp2Answer } from "../test-support/plaintext-probe.js";
import { specOf } from "../test-support/scripted-agent.js";

const isErr = (code: string, message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof CorralError, `expected a CorralError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, message);
  return true;
};

async function foreignCredentials(identity = CONTROLLER_IDENTITY): Promise<TlsCredentials> {
  return issueCredentials(await createCertificateAuthority("Some other CA"), identity);
}

function agentAsController(cl: InProcessCluster, host: string, tls: Partial<TlsCredentials> & { ca: string }): AgentClient {
  const a = cl.agents[host]!;
  return new AgentClient(a.address, tls, { kind: "host", name: host });
}

test("a peer with no certificate is refused on the controller and on every agent", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const anonymous = { ca: cl.admin.ca };
  const ctl = new ControllerClient(cl.controller.address, anonymous);
  const reg = new RegistryClient(cl.controller.address, anonymous);
  const agent = agentAsController(cl, "host1", anonymous);
  t.after(() => [ctl, reg, agent].forEach((c) => c.close()));

  await assert.rejects(ctl.listHosts(), isErr("unauthenticated", /^permission denied: no credential: ControllerService\.listHosts needs a bearer token or a client certificate issued by this cluster's CA/));
  await assert.rejects(ctl.create({ spec: specOf("sneaky"), host: "host1", start: true }), isErr("unauthenticated", /needs a bearer token or a client certificate/));
  await assert.rejects(reg.register(cl.agents.host1!.info()), isErr("unauthenticated", /^registration needs a client certificate/));
  // The agent requires a certificate in the handshake itself: the connection never carries a call.
  await assert.rejects(agent.list(), isErr("unauthenticated", /^agent at 127\.0\.0\.1:\d+ requires a client certificate from this cluster's CA \(TLS alert: certificate required\)$/));
  assert.deepEqual(cl.agents.host1!.calls.filter((c) => !c.startsWith("hostInfo")), []);
  assert.equal((await cl.client.list()).length, 0, "nothing was created");
});

test("a certificate from another CA is refused, and a controller under another CA is not trusted", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const foreign = await foreignCredentials({ kind: "user", name: "admin" });
  // Trusts our CA (so the server is verified) but presents a certificate of another CA.
  const ctl = new ControllerClient(cl.controller.address, { ca: cl.admin.ca, cert: foreign.cert, key: foreign.key });
  const agent = agentAsController(cl, "host1", { ...(await foreignCredentials()), ca: cl.admin.ca });
  // A CLI that holds another cluster's CA must not talk to this controller at all.
  const wrongCa = new ControllerClient(cl.controller.address, foreign);
  t.after(() => [ctl, agent, wrongCa].forEach((c) => c.close()));

  await assert.rejects(ctl.listHosts(), isErr("unauthenticated", /presented no token and no certificate that verifies/));
  await assert.rejects(agent.list(), isErr("unavailable", /is unreachable/));
  await assert.rejects(wrongCa.listHosts(), isErr("permission_denied", /^controller at 127\.0\.0\.1:\d+ failed TLS verification: self-signed certificate in certificate chain$/));
});

test("a host certificate cannot register or report as another host, drive the cluster, or control an agent", async (t) => {
  const cl = await startCluster(["host1", "host2"]);
  t.after(() => cl.close());
  const h1 = cl.agents.host1!.tls;
  const reg = new RegistryClient(cl.controller.address, h1);
  const ctl = new ControllerClient(cl.controller.address, h1);
  const peer = new AgentClient(cl.agents.host2!.address, h1, { kind: "host", name: "host2" });
  t.after(() => [reg, ctl, peer].forEach((c) => c.close()));

  const fake = { ...cl.agents.host2!.info(), cpus: 1000 };
  await assert.rejects(reg.register(fake), isErr("permission_denied", /^the certificate of host host1 cannot register as host host2$/));
  await assert.rejects(
    reg.reportUsage((async function* () {
      yield { host: "host2", atUnixMs: Date.now(), containers: [], diskFreeBytes: 1 };
    })()),
    isErr("permission_denied", /^the certificate of host host1 cannot report usage as host host2$/),
  );
  assert.equal((await cl.client.listHosts()).find((h) => h.name === "host2")?.cpus, 2, "the fake registration changed nothing");
  await assert.rejects(ctl.listHosts(), isErr("permission_denied", /^ControllerService\.listHosts is only for a user; the caller's certificate names host host1$/));
  await assert.rejects(peer.create(specOf("evil")), isErr("permission_denied", /^this agent's create.* is only for the controller; the caller's certificate names host host1$/));
  assert.equal(cl.agents.host2!.containers.size, 0);
  // Dialling an address, a client checks the host named in the certificate, not the address.
  const misdialled = new AgentClient(cl.agents.host1!.address, loadClusterPki(cl.dir).controller, { kind: "host", name: "host2" });
  t.after(() => misdialled.close());
  await assert.rejects(misdialled.list(), isErr("permission_denied", /failed TLS verification: server certificate names host host1, expected corral:\/\/host\/host2$/));
  // The controller's certificate cannot register a host either.
  const pki = loadClusterPki(cl.dir);
  const asController = new RegistryClient(cl.controller.address, pki.controller);
  t.after(() => asController.close());
  await assert.rejects(asController.register(fake), isErr("permission_denied", /^registration is only for a host; the caller's certificate names the controller$/));
});

test("join tokens: one use, expiring, for this cluster only, and the name must be free", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const reg = new RegistryClient(cl.controller.address, { ca: cl.admin.ca });
  t.after(() => reg.close());
  const csr = async (host: string) => (await createCertificateRequest({ kind: "host", name: host })).csrPem;

  const { token, expiresUnixMs } = await cl.client.createJoinToken(60);
  assert.ok(Math.abs(expiresUnixMs - Date.now() - 60_000) < 5_000);
  assert.match(token, /^corral1:[0-9a-f]{64}:[0-9a-f]{12}\.[0-9a-f]{32}$/);
  assert.ok(token.includes(loadClusterPki(cl.dir).fingerprint), "the token pins this cluster's CA");
  // A name in use is refused without using the token up.
  await assert.rejects(reg.join({ token, host: "host1", csrPem: await csr("host1") }), isErr("already_exists", /^host host1 already exists; remove it with "corral host rm host1"/));
  const joined = await reg.join({ token, host: "newbie", csrPem: await csr("newbie") });
  assert.match(joined.certPem, /BEGIN CERTIFICATE/);
  await assert.rejects(reg.join({ token, host: "other", csrPem: await csr("other") }), isErr("permission_denied", /^join token was already used \(by host newbie at /));

  const short = await cl.client.createJoinToken(1);
  await new Promise((r) => setTimeout(r, 1100));
  await assert.rejects(reg.join({ token: short.token, host: "late", csrPem: await csr("late") }), isErr("permission_denied", /^join token expired at /));

  const fresh = await cl.client.createJoinToken(60);
  await assert.rejects(reg.join({ token: fresh.token.replace(/[0-9a-f]{32}$/, "0".repeat(32)), host: "guess", csrPem: await csr("guess") }), isErr("permission_denied", /^join token is not valid \(unknown token\)$/));
  await assert.rejects(reg.join({ token: fresh.token.replace(/^corral1:[0-9a-f]{64}/, `corral1:${"0".repeat(64)}`), host: "guess", csrPem: await csr("guess") }), isErr("permission_denied", /made for another cluster/));
  await assert.rejects(reg.join({ token: "letmein", host: "guess", csrPem: await csr("guess") }), isErr("invalid_argument", /^malformed join token/));
  // The request must be signed by the key it certifies.
  const tampered = (await csr("forged")).replace(/(.{40})[A-Za-z](.*-----END)/s, "$1A$2");
  await assert.rejects(reg.join({ token: fresh.token, host: "forged", csrPem: tampered }), (e: unknown) => e instanceof CorralError && ["permission_denied", "invalid_argument"].includes(e.code));
  // None of the refused joins used the fresh token up.
  await reg.join({ token: fresh.token, host: "second", csrPem: await csr("second") });
});

test("an expired certificate is refused", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  const pki = loadClusterPki(cl.dir);
  const old = await issueCredentials(pki.ca, { kind: "user", name: "admin" }, 1);
  await new Promise((r) => setTimeout(r, 20));
  const ctl = new ControllerClient(cl.controller.address, old);
  t.after(() => ctl.close());
  await assert.rejects(ctl.listHosts(), isErr("unauthenticated", /presented no token and no certificate that verifies/));
});

test("host rm: refused while the host is up or holds containers; then removed and its certificate revoked", async (t) => {
  const cl = await startCluster(["host1", "host2"], { heartbeatTimeoutMs: 700 });
  t.after(() => cl.close());
  await cl.client.create({ spec: specOf("web"), host: "host2", start: true });
  const h2 = cl.agents.host2!.tls;
  const report = (tls: TlsCredentials, host: string) => {
    const reg = new RegistryClient(cl.controller.address, tls);
    return reg
      .reportUsage((async function* () {
        yield { host, atUnixMs: Date.now(), containers: [], diskFreeBytes: 1 };
      })())
      .finally(() => reg.close());
  };
  await report(h2, "host2");
  await assert.rejects(cl.client.removeHost("host2"), isErr("failed_precondition", /^host host2 is ready; only a host that is down can be removed/));
  await assert.rejects(cl.client.removeHost("nohost"), isErr("not_found", /^host "nohost" not found \(known: host1, host2\)$/));
  await waitFor("host2 down", async () => ((await cl.client.listHosts()).find((h) => h.name === "host2")?.state === "down" ? true : undefined), 5000);
  await assert.rejects(cl.client.removeHost("host2"), isErr("failed_precondition", /^host host2 still holds containers: web; migrate or remove them first$/));
  // Back up, empty it, and let it go down again.
  await report(h2, "host2");
  await cl.client.remove("web", true);
  await waitFor("host2 down again", async () => ((await cl.client.listHosts()).find((h) => h.name === "host2")?.state === "down" ? true : undefined), 5000);

  const serial = await cl.client.removeHost("host2");
  assert.match(serial, /^[0-9a-f]+$/);
  assert.deepEqual((await cl.client.listHosts()).map((h) => h.name), ["host1"]);
  // Its certificate is worthless now, on every call.
  await assert.rejects(report(h2, "host2"), isErr("permission_denied", new RegExp(`^the caller's certificate \\(serial ${serial}, host host2\\) has been revoked$`)));
  const reg = new RegistryClient(cl.controller.address, h2);
  t.after(() => reg.close());
  await assert.rejects(reg.register(cl.agents.host2!.info()), isErr("permission_denied", /has been revoked/));
  // The name is free again: a new join makes a new certificate.
  const again = await joinHost(cl.controller.address, cl.admin, "host2");
  const reg2 = new RegistryClient(cl.controller.address, again);
  t.after(() => reg2.close());
  await reg2.register(cl.agents.host2!.info());
  assert.deepEqual((await cl.client.listHosts()).map((h) => h.name), ["host1", "host2"]);
});

test("plaintext HTTP/2 to the controller or an agent gets no gRPC answer", async (t) => {
  const cl = await startCluster(["host1"]);
  t.after(() => cl.close());
  for (const address of [cl.controller.address, cl.agents.host1!.address]) {
    // A gRPC client without TLS.
    const plain = new Client(address, credentials.createInsecure());
    const bytes = (b: Buffer) => b;
    const err = await new Promise<{ code: number; details: string } | undefined>((resolve) =>
      plain.makeUnaryRequest("/corral.v1.ControllerService/ListHosts", bytes, bytes, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 5000 }, (e) =>
        resolve(e ? { code: e.code, details: e.details } : undefined),
      ),
    );
    plain.close();
    assert.ok(err, `plaintext gRPC to ${address} was answered`);
    assert.notEqual(err.code, 0);
    // Raw HTTP/2 prior knowledge: no response headers, let alone a grpc-status.
    const headers = await plaintextHttp2Answer(address);
    assert.equal(headers, undefined, `${address} answered plaintext HTTP/2 with ${JSON.stringify(headers)}`);
  }
});
