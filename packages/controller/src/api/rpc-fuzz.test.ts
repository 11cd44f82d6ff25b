// Bounded, seeded fuzz of every ControllerService and RegistryService method over real gRPC on
// loopback (a real controller on a temporary SQLite file): no crash, no hang, still serving.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ControllerClient, ControllerServiceDefinition, RegistryServiceDefinition, fuzzService } from "@corral/wire";
import { startController, type RunningController } from "../controller.js";

const root = mkdtempSync(join(tmpdir(), "corral-cfuzz-"));
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
let controller: RunningController;

before(async () => {
  process.on("unhandledRejection", onCrash);
  process.on("uncaughtException", onCrash);
  controller = await startController({ listen: "127.0.0.1:0", db: join(root, "corral.db"), logger: pino({ level: "silent" }) });
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
    const report = await fuzzService(controller.address, def, { seed: 11, iterations: 25, deadlineMs: 2000 });
    assert.deepEqual(report.hangs, []);
    assert.deepEqual(crashes, []);
    const c = new ControllerClient(controller.address);
    try {
      assert.ok(Array.isArray(await c.listHosts()));
    } finally {
      c.close();
    }
  });
}
