import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { CorralError, createCertificateAuthority, type ClientTls } from "@corral/wire";
import { Connection, probeTcp, splitHostPort } from "./connection.js";

test("addresses split into host and port in the forms grpc-js accepts", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:7400"), { host: "127.0.0.1", port: 7400 });
  assert.deepEqual(splitHostPort("[::1]:7400"), { host: "::1", port: 7400 });
  assert.deepEqual(splitHostPort("dns:///ctl.example:7400"), { host: "ctl.example", port: 7400 });
  assert.equal(splitHostPort("unix:/run/corral.sock"), undefined);
  assert.equal(splitHostPort("127.0.0.1:0"), undefined);
});

test("a port where nothing listens is reported unreachable at once", async () => {
  const srv = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const t0 = Date.now();
  await assert.rejects(probeTcp(`127.0.0.1:${port}`, 5_000, "controller at x"), (e: CorralError) => {
    assert.equal(e.code, "unavailable");
    assert.match(e.message, /^controller at x is unreachable \(connect ECONNREFUSED/);
    return true;
  });
  assert.ok(Date.now() - t0 < 2_000);
});

test("a controller that accepts but never answers hits the call deadline instead of hanging", async (t) => {
  const ca = await createCertificateAuthority();
  const tls: ClientTls = { ca: ca.certPem };
  const sockets: Socket[] = [];
  const srv = createServer((s) => sockets.push(s)).listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  const conn = new Connection(`127.0.0.1:${(srv.address() as { port: number }).port}`, () => tls);
  t.after(() => conn.close());
  const t0 = Date.now();
  await assert.rejects(conn.call((c) => c.listHosts(), 300), (e: CorralError) => {
    assert.equal(e.code, "deadline_exceeded");
    assert.match(e.message, /did not answer within 0 s|did not answer within/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3_000);
});
