// The simulated agents of `npm run bench:heartbeats`, run as their own process: each registers over
// real gRPC, then keeps one usage stream open (its heartbeat) reporting N containers every interval.
// Prints one JSON line per event for the parent: {"registered":…}, {"stopped":[…]}.
//   node heartbeat-agents.js ADDRESS AGENTS INTERVAL_MS CONTAINERS STOP_AFTER_MS STOP_COUNT
import { readFileSync } from "node:fs";
import { RegistryClient, type ClientTls, type ContainerUsage, type UsageReport } from "@corral/wire";

/** The TLS credentials of every simulated agent, in one place (CORRAL_BENCH_CA: the cluster CA's file). */
export function agentCredentials(): ClientTls {
  return { ca: readFileSync(process.env.CORRAL_BENCH_CA ?? "", "utf8") };
}

const [address = "", agentsArg = "5000", intervalArg = "5000", containersArg = "10", stopAfterArg = "0", stopCountArg = "0"] = process.argv.slice(2);
const AGENTS = Number(agentsArg);
const INTERVAL = Number(intervalArg);
const CONTAINERS = Number(containersArg);
const STOP_AFTER = Number(stopAfterArg);
const STOP_COUNT = Number(stopCountArg);

const hostName = (i: number) => `sim${String(i).padStart(5, "0")}`;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

function usage(host: string, k: number, at: number): ContainerUsage {
  // cpuNanos carries the send time, so that the controller side can measure report → state.
  return { name: `${host}-c${k}`, backend: "lxc", state: "running", cpuNanos: at, cpuPercent: 1, memoryBytes: 2 ** 20, memoryLimitBytes: 0, pids: 3, blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0 };
}

// Agents share CONNECTIONS connections (grpc-js keeps one per distinct option set): 5,000 channels
// of their own would make this one process, not the controller, the bottleneck being measured.
const CONNECTIONS = Math.min(AGENTS, 250);
const clients = Array.from(
  { length: AGENTS },
  (_, i) => new RegistryClient(address, agentCredentials(), { "corral.bench.connection": i % CONNECTIONS }),
);
const stopped = new Set<number>();
let errorsShown = 0;
async function* reports(i: number): AsyncGenerator<UsageReport> {
  const host = hostName(i);
  // Registrations arrive spread over time, and so do the reports that follow each.
  for (;;) {
    if (stopped.has(i)) return;
    const at = Date.now();
    yield { host, atUnixMs: at, diskFreeBytes: 2 ** 39, containers: Array.from({ length: CONTAINERS }, (_, k) => usage(host, k, at)) };
    await new Promise((r) => setTimeout(r, INTERVAL));
  }
}
function stream(i: number): void {
  (clients[i] as RegistryClient).reportUsage(reports(i)).catch((err: unknown) => {
    if (stopped.has(i)) return;
    say({ streamError: hostName(i), error: errorsShown++ < 5 ? String(err) : undefined });
  });
}

// Registration as fast as the controller takes it, 100 in flight; each agent opens its usage stream
// (its heartbeat) as soon as it is registered, as a real agent does.
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 100 }, async () => {
    for (let i = next++; i < AGENTS; i = next++) {
      const name = hostName(i);
      await (clients[i] as RegistryClient).register({ name, address: `10.9.${i >> 8}.${i & 255}:7401`, cpus: 8, memoryBytes: 16 * 2 ** 30, diskBytes: 2 ** 40, diskFreeBytes: 2 ** 39, backends: [{ name: "lxc", available: true, reason: "", capabilities: [] }], agentVersion: "bench" });
      stream(i);
    }
  }),
);
const regSeconds = (performance.now() - t0) / 1000;
say({ registered: AGENTS, seconds: regSeconds, perSecond: AGENTS / regSeconds });
if (STOP_AFTER > 0 && STOP_COUNT > 0) {
  setTimeout(() => {
    const names: string[] = [];
    for (let i = 0; i < STOP_COUNT; i++) {
      stopped.add(i); // its stream ends at its next report
      names.push(hostName(i));
    }
    say({ stopped: names, at: Date.now() });
  }, STOP_AFTER);
}
