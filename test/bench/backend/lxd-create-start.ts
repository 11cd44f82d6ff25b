// Measures create+start latency through the backend against the same REST calls made directly
// (POST /1.0/instances, PUT …/state start, each waited on), interleaved, median of N.
// Run: npm run bench:lxd-create-start [-- iterations]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildBusyboxRootfs,
  createLxdBackend,
  ensureLxd,
  tarballStream,
  testContext,
  testSpec,
  type LxdBackend,
} from "@corral/agent/test-support";
import { LxdRest } from "../lxd-rest.js";
import { median } from "../stats.js";

const n = Number(process.argv[2] ?? 10);
const reason = await ensureLxd();
if (reason) throw new Error(reason);
const root = mkdtempSync(join(tmpdir(), "corral-lxd-bench-"));
const host = `bench${process.pid}`;
const backend = createLxdBackend(testContext(host, root)) as LxdBackend;
// The baseline is plain REST with no Corral code, as in the cluster bench (lxd-latency.ts).
const direct = new LxdRest();
const rootfs = buildBusyboxRootfs({ bootable: true, gzip: true });
const image = await backend.importImage("bench", tarballStream(rootfs.tarball));
const alias = `${host}-bench`;
const viaBackend: number[] = [];
const viaRest: number[] = [];
const limits = { memoryBytes: 64 * 1024 * 1024, cpus: 1 };
for (let i = 0; i < n; i++) {
  let t = performance.now();
  await backend.create(testSpec("lxd", `b${i}`, { image: "bench", limits }));
  await backend.start(`b${i}`);
  viaBackend.push(performance.now() - t);
  const rt = `${host}-r${i}`;
  t = performance.now();
  await direct.call("POST", "/1.0/instances", {
    name: rt,
    type: "container",
    source: { type: "image", alias },
    config: { "limits.memory": String(limits.memoryBytes), "limits.cpu": "1" },
  });
  await direct.call("PUT", `/1.0/instances/${rt}/state`, { action: "start" });
  viaRest.push(performance.now() - t);
  await backend.remove(`b${i}`);
  await direct.call("PUT", `/1.0/instances/${rt}/state`, { action: "stop", force: true });
  await direct.call("DELETE", `/1.0/instances/${rt}`);
}
const mb = median(viaBackend);
const mr = median(viaRest);
console.log(JSON.stringify({ iterations: n, backendMedianMs: +mb.toFixed(1), restMedianMs: +mr.toFixed(1), ratio: +(mb / mr).toFixed(3), viaBackend: viaBackend.map((x) => +x.toFixed(1)), viaRest: viaRest.map((x) => +x.toFixed(1)) }));
await direct.call("DELETE", `/1.0/images/${image.id}`);
backend.close();
direct.close();
rootfs.cleanup();
rmSync(root, { recursive: true, force: true });
