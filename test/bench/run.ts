// Corral's benchmarks against the runtimes called directly, on a real local cluster (NATS via
// testcontainers, controller, two emulated hosts with agents and dockerds). Prints figures only.
//   npm run bench [-- --iterations 10] [-- --only migrate,lxc,docker,lxd,openvz]
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { TestCluster } from "../support/cluster.js";
import { BenchContext } from "./bench-context.js";
import { loadAverage } from "./bench-results.js";
import { benchDockerLatency } from "./docker-latency.js";
import { benchLxcLatency } from "./lxc-latency.js";
import { benchLxdLatency } from "./lxd-latency.js";
import { benchMigration } from "./migration-bench.js";
import { benchOpenvzLatency } from "./openvz-latency.js";
import { Report } from "./report.js";
import { ms } from "./stats.js";
import { benchUsageSampling } from "./usage-sampling.js";

const SECTIONS = ["usage", "migrate", "migrate-a", "migrate-b", "migrate-b-zstd", "migrate-c", "lxc", "docker", "lxd", "openvz"];
const { values } = parseArgs({
  options: { iterations: { type: "string", short: "n", default: "10" }, only: { type: "string" } },
});
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`--iterations must be a positive integer, not "${values.iterations}"`);
const only = values.only ? new Set(values.only.split(",").map((s) => s.trim())) : undefined;
for (const s of only ?? []) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}" (sections: ${SECTIONS.join(", ")})`);

try {
  execFileSync("docker", ["version"], { stdio: "ignore" });
} catch {
  console.error("bench: dockerd does not answer (testcontainers needs it): nohup dockerd >/var/log/dockerd.log 2>&1 &");
  process.exit(1);
}

const t0 = performance.now();
// CORRAL_BENCH_SLOT: two rooms benching at once must not share a cluster slot.
const cluster = new TestCluster({ hosts: 2, slot: Number(process.env.CORRAL_BENCH_SLOT ?? 3), docker: true });
const report = new Report();
let ctx: BenchContext | undefined;
let finished = false;

async function tearDown(): Promise<void> {
  if (finished) return;
  finished = true;
  await ctx?.cleanUp();
  ctx?.close();
  await cluster.down();
}

// Ctrl-C or a kill still takes the cluster down.
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\nbench: ${sig}, tearing the cluster down`);
    void tearDown().finally(() => process.exit(130));
  });
}

let failed = false;
try {
  console.log(`corral bench: ${new Date().toISOString()}, node ${process.version}, ${iterations} iterations per latency figure, ${loadAverage()}`);
  // Needs no cluster: synthetic cgroup trees under a temp dir.
  if (!only || only.has("usage")) await benchUsageSampling(1000, 10, report);
  await cluster.up();
  console.log(`cluster up in ${ms(performance.now() - t0)}: controller ${cluster.controller}, nats ${cluster.natsUrl}, root ${cluster.root}`);
  ctx = new BenchContext(cluster, { iterations, only });
  for (const h of await ctx.client.listHosts()) {
    const backends = h.backends.map((b) => (b.available ? b.name : `${b.name}(no)`)).join(" ");
    console.log(`  ${h.name} ${h.address} ${h.state}: ${h.cpus} cpus, backends ${backends}`);
  }
  const sections: [string, (c: BenchContext, r: Report) => Promise<void>][] = [
    ["migrate", benchMigration],
    ["lxc", benchLxcLatency],
    ["docker", benchDockerLatency],
    ["lxd", benchLxdLatency],
    ["openvz", benchOpenvzLatency],
  ];
  for (const [name, fn] of sections) {
    const wanted = !only || only.has(name) || (name === "migrate" && [...only].some((s) => s.startsWith("migrate-")));
    if (!wanted) continue;
    try {
      await fn(ctx, report);
    } catch (err) {
      failed = true;
      console.error(`\n${name}: FAILED: ${(err as Error).stack ?? String(err)}`);
      report.skip(name, `failed: ${(err as Error).message.split("\n")[0]}`);
      await ctx.cleanUp();
    }
  }
  report.print();
  console.log(`(${loadAverage()} at the end; other work on this machine skews the figures)`);
} catch (err) {
  failed = true;
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await tearDown();
  console.log(`\nbench finished in ${ms(performance.now() - t0)} (cluster down)`);
}
process.exit(failed ? 1 : 0);
