// Joining over real TLS on loopback: a RegistryService served under a cluster CA that issues host
// certificates, as the controller does. The agent checks the CA pinned in the token before it sends
// the token, and stores what it gets with private permissions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server } from "@grpc/grpc-js";
import pino from "pino";
import {
  CONTROLLER_IDENTITY,
  RegistryServiceDefinition,
  SERVER_OPTIONS,
  certFingerprint,
  createCertificateAuthority,
  formatJoinToken,
  hostPaths,
  issueCredentials,
  issueFromRequest,
  registryServiceImplementation,
  serverCredentials,
  unavailable,
  verifyIssued,
  type JoinRequest,
  type TlsCredentials,
} from "@corral/wire";
import { hostCredentials, joinCluster } from "./join.js";

async function serveRegistry(t: import("node:test").TestContext, controller: TlsCredentials, caKey: string) {
  const joins: JoinRequest[] = [];
  const server = new Server(SERVER_OPTIONS);
  server.addService(
    RegistryServiceDefinition,
    registryServiceImplementation(
      {
        register: () => Promise.reject(unavailable("not in this test")),
        reportUsage: () => Promise.reject(unavailable("not in this test")),
        join: async (req) => {
          joins.push(req);
          const issued = await issueFromRequest({ certPem: controller.ca, keyPem: caKey }, req.csrPem, { kind: "host", name: req.host });
          return { certPem: issued.certPem, caPem: controller.ca };
        },
      },
      () => undefined,
    ),
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", serverCredentials(controller, "optional"), (e, p) => (e ? rej(e) : res(p))));
  t.after(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, joins };
}

const token = (fp: string) => formatJoinToken({ caFingerprint: fp, id: "0123456789ab", secret: "ab".repeat(16) });

test("a host joins: the CA matches the pin, the certificate names it, key and certificate are stored privately", async (t) => {
  const ca = await createCertificateAuthority();
  const controller = await issueCredentials(ca, CONTROLLER_IDENTITY);
  const { address, joins } = await serveRegistry(t, controller, ca.keyPem);
  const stateDir = mkdtempSync(join(tmpdir(), "corral-join-"));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const log = pino({ level: "silent" });

  const creds = await hostCredentials({ name: "h7", stateDir, controller: address, join: token(certFingerprint(ca.certPem)) }, log);
  assert.deepEqual(verifyIssued(ca.certPem, creds.cert), { kind: "host", name: "h7" });
  assert.equal(joins.length, 1);
  const p = hostPaths(stateDir);
  assert.equal(statSync(p.key).mode & 0o777, 0o600);
  assert.equal(statSync(p.dir).mode & 0o777, 0o700);
  // A later start uses what is stored, even if a (used) token is still passed.
  const again = await hostCredentials({ name: "h7", stateDir, controller: address, join: token(certFingerprint(ca.certPem)) }, log);
  assert.equal(again.cert, creds.cert);
  assert.equal(joins.length, 1);
  await assert.rejects(
    hostCredentials({ name: "h9", stateDir, controller: address, join: undefined }, log),
    /^CorralError: the certificate in .*\/tls names host h7, not host h9$/,
  );
  await assert.rejects(
    hostCredentials({ name: "h8", stateDir: join(stateDir, "other"), controller: address, join: undefined }, log),
    /^CorralError: this host has no certificate in .*other\/tls: start it once with --join TOKEN/,
  );
});

test("a controller whose CA is not the one pinned in the token never sees the token", async (t) => {
  const ca = await createCertificateAuthority();
  const impostorCa = await createCertificateAuthority();
  const impostor = await issueCredentials(impostorCa, CONTROLLER_IDENTITY);
  const { address, joins } = await serveRegistry(t, impostor, impostorCa.keyPem);
  await assert.rejects(joinCluster(address, token(certFingerprint(ca.certPem)), "h1"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "permission_denied");
    assert.match(e.message, /does not present the CA pinned in the join token \(sha256 [0-9a-f]{64}\); refusing to send the token$/);
    return true;
  });
  assert.equal(joins.length, 0);
  // A server under the pinned CA that is not the controller (a host certificate) is refused too.
  const host = await issueCredentials(ca, { kind: "host", name: "h2" });
  const { address: hostAddress, joins: hostJoins } = await serveRegistry(t, host, ca.keyPem);
  await assert.rejects(joinCluster(hostAddress, token(certFingerprint(ca.certPem)), "h1"), /server certificate names host h2, expected corral:\/\/controller/);
  assert.equal(hostJoins.length, 0);
});
