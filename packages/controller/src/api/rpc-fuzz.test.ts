// Bounded, seeded fuzz of every ControllerService and RegistryService method over real gRPC on
// loopback (a real controller on a temporary SQLite file): no crash, no hang, still serving.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { CONTROLLER_IDENTITY, ControllerClient, ControllerServiceDefinition, RegistryServiceDefinition, clientCredentials, fuzzService, type TlsCredentials } from "@corral/wire";
import { initTestCluster } from "../test-support/test-pki.js";
import { startController, type RunningController } from "../controller.js";
import { issueAdminToken } from "../auth/first-admin.js";

const root = mkdtempSync(join(tmpdir(), "corral-cfuzz-"));
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
let controller: RunningController;
let token = "";
/** The admin's user certificate from `cluster init`: the fuzz gets past the handshake. */
let admin: TlsCredentials;

before(async () => {
  process.on("unhandledRejection", onCrash);
  process.on("uncaughtException", onCrash);
  // An admin token, so the fuzz reaches every handler and not only the auth gate in front of them.
  admin = await initTestCluster(root);
  token = issueAdminToken(join(root, "corral.db"));
  controller = await startController({ listen: "127.0.0.1:0", db: join(root, "corral.db"), stateDir: root, logger: pino({ level: "silent" }) });
});

after(async () => {
  await controller.close();
  process.off("unhandledRejection", onCrash);
  process.off("uncaughtException", onCrash);
  rmSync(root, { recursive: true, force: true });
});

for (const [service, def] of [
  ["ControllerService", ControllerServiceDefinition],
  ["RegistryService", RegistryServiceDefinition],
] as const) {
  test(`random bytes to every ${service} method: no crash, no hang, still serving`, async () => {
    const report = await fuzzService(controller.address, def, {
      seed: 11,
      iterations: 25,
      deadlineMs: 2000,
      credentials: clientCredentials(admin, CONTROLLER_IDENTITY),
      metadata: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(report.hangs, []);
    if (service === "ControllerService") assert.equal(report.codes[16] ?? 0, 0, "every call got past the auth gate to its handler");
    assert.deepEqual(crashes, []);
    const c = new ControllerClient(controller.address, admin, { token });
    try {
      assert.ok(Array.isArray(await c.listHosts()));
    } finally {
      c.close();
    }
  });
}
