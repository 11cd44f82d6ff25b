// Create+start latency through the backend against the same two Engine API calls made directly
// with dockerode, interleaved on one dockerd (issue 3 goal: ≤ 1.2×).
//   npm run bench:docker-create-start [-- --socket /run/docker.sock] [--n 10]
// Without --socket it starts its own dockerd (bridge none), as the tests do.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import {
  buildBusyboxRootfs,
  createDockerBackend,
  createOptions,
  importTestImage,
  sleepSpec,
  startExtraDockerd,
  testContext,
  type ExtraDockerd,
} from "@corral/agent/test-support";
import { median } from "../stats.js";

const { values } = parseArgs({ options: { socket: { type: "string" }, n: { type: "string", default: "10" } } });
const n = Number(values.n);
const root = mkdtempSync(join(tmpdir(), "corral-bench-docker-"));
let extra: ExtraDockerd | undefined;
const socketPath = values.socket ?? (extra = await startExtraDockerd(`bench${process.pid}`)).socketPath;
const host = `bench${process.pid}`;
const docker = new Docker({ socketPath });
const backend = createDockerBackend(testContext(host, root), { socketPath });
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

try {
  await importTestImage(socketPath, buildBusyboxRootfs({ dir: root }).tarball, root);
  const limits = { memoryBytes: 64 * 1024 * 1024, cpus: 1 };
  const direct: number[] = [];
  const corral: number[] = [];
  for (let i = -2; i < n; i++) {
    // Same body the backend sends, so only the backend's own overhead differs.
    const dName = `d${i + 2}`;
    const body = createOptions(host, { ...sleepSpec(dName), limits }, undefined);
    let t0 = process.hrtime.bigint();
    const c = await docker.createContainer(body);
    await c.start();
    const d = ms(t0);
    await c.remove({ force: true });

    const cName = `c${i + 2}`;
    t0 = process.hrtime.bigint();
    await backend.create({ ...sleepSpec(cName), limits });
    await backend.start(cName);
    const k = ms(t0);
    await backend.remove(cName);
    if (i >= 0) {
      direct.push(d);
      corral.push(k);
    }
  }
  const md = median(direct);
  const mc = median(corral);
  console.log(`dockerd ${socketPath}, ${n} iterations each (after 2 warm-ups), interleaved`);
  console.log(`direct dockerode create+start  median ${md.toFixed(1)} ms  [${direct.map((x) => x.toFixed(0)).join(" ")}]`);
  console.log(`corral backend create+start    median ${mc.toFixed(1)} ms  [${corral.map((x) => x.toFixed(0)).join(" ")}]`);
  console.log(`ratio ${(mc / md).toFixed(2)}x`);
} finally {
  await extra?.stop();
  rmSync(root, { recursive: true, force: true });
}
