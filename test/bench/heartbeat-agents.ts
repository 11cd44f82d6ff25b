// The simulated agents of `npm run bench:heartbeats`, run as their own process: each joins the
// cluster for a host certificate of its own, registers over real gRPC with mutual TLS, then keeps
// one usage stream open (its heartbeat) reporting N containers every interval.
// Prints one JSON line per event for the parent: {"joined":…}, {"registered":…}, {"stopped":[…]},
// {"streamError":…} and {"reopened":…} for a stream dropped and opened again.
//   node heartbeat-agents.js ADDRESS STATE_DIR AGENTS INTERVAL_MS CONTAINERS STOP_AFTER_MS STOP_COUNT
// STATE_DIR: the cluster's state directory, for the admin credentials that make the join tokens.
import { ControllerClient, isCode, readAdminCredentials, RegistryClient, type ContainerUsage, type TlsCredentials, type UsageReport } from "@corral/wire";
import { joinWithToken } from "@corral/controller/bench-support";

const [address = "", stateDir = "", agentsArg = "5000", intervalArg = "5000", containersArg = "10", stopAfterArg = "0", stopCountArg = "0"] = process.argv.slice(2);
const AGENTS = Number(agentsArg);
const INTERVAL = Number(intervalArg);
const CONTAINERS = Number(containersArg);
const STOP_AFTER = Number(stopAfterArg);
const STOP_COUNT = Number(stopCountArg);

// A host whose join was cut after the controller recorded it joins again under another name.
const hostNames = Array.from({ length: AGENTS }, (_, i) => `sim${String(i).padStart(5, "0")}`);
const hostName = (i: number) => hostNames[i] as string;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

function usage(host: string, k: number, at: number): ContainerUsage {
  // cpuNanos carries the send time, so that the controller side can measure report → state.
  return { name: `${host}-c${k}`, backend: "lxc", state: "running", cpuNanos: at, cpuPercent: 1, memoryBytes: 2 ** 20, memoryLimitBytes: 0, pids: 3, blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0 };
}

// Every host gets its certificate through the real Join RPC (a one-use token from the admin over
// ControllerService, a key and certificate request made here, the controller checking the token,
// signing and recording the certificate on record as for any host), not certificates issued on the
// controller side: what bounds both is the controller signing with @peculiar/x509 (issueFromRequest
// and issueCredentials both measured ~15-17 ms a certificate on this 2-core machine under load),
// so issuing them on the side would save little and fake the path. JOIN_PARALLEL joins in flight, each over
// a connection of its own without a client certificate, as a joining agent has. Not timed as
// registration, and done before the controller's CPU is measured.
const JOIN_PARALLEL = 50;
const adminCredentials = readAdminCredentials(stateDir);
// On a machine shared with other work a connection can drop mid-join (a keepalive unanswered in
// time): that host joins again with a fresh token, as a real agent would be restarted with one.
async function join(i: number, attempt = 1): Promise<TlsCredentials> {
  try {
    const { token } = await admin.createJoinToken(3600);
    return await joinWithToken(address, adminCredentials.ca, token, hostName(i));
  } catch (err) {
    if (attempt >= 3 || !isCode(err, "unavailable", "deadline_exceeded", "already_exists")) throw err;
    say({ joinRetry: hostName(i), error: String(err) });
    // The cut join may have been recorded: the retry cannot reuse the name without its key.
    hostNames[i] = `${hostName(i).replace(/r\d+$/, "")}r${attempt}`;
    return join(i, attempt + 1);
  }
}
const admin = new ControllerClient(address, adminCredentials);
const credentials: TlsCredentials[] = new Array<TlsCredentials>(AGENTS);
const tj = performance.now();
let nextJoin = 0;
await Promise.all(
  Array.from({ length: Math.min(JOIN_PARALLEL, AGENTS) }, async () => {
    for (let i = nextJoin++; i < AGENTS; i = nextJoin++) credentials[i] = await join(i);
  }),
);
admin.close();
const joinSeconds = (performance.now() - tj) / 1000;
say({ joined: AGENTS, seconds: joinSeconds, perSecond: AGENTS / joinSeconds });

// Each host dials with its own key and certificate, so each has its own channel and TLS connection
// to the controller (grpc-js shares a connection only between equal credentials): the controller
// pays for 5,000 handshakes and 5,000 encrypted streams, as it would with 5,000 real hosts.
const clients = credentials.map((creds) => new RegistryClient(address, creds));
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
const hostInfo = (i: number) => ({ name: hostName(i), address: `10.9.${i >> 8}.${i & 255}:7401`, cpus: 8, memoryBytes: 16 * 2 ** 30, diskBytes: 2 ** 40, diskFreeBytes: 2 ** 39, backends: [{ name: "lxc", available: true, reason: "", capabilities: [] }], agentVersion: "bench" });
// A dropped stream is reopened as the real agent does (reporter.ts): a new channel, register
// again, then a new stream, after a backoff of 0.5 s doubling to 5 s; the drop is still reported.
function stream(i: number, backoffMs = 500): void {
  (clients[i] as RegistryClient).reportUsage(reports(i)).catch((err: unknown) => {
    if (stopped.has(i)) return;
    say({ streamError: hostName(i), error: errorsShown++ < 5 ? String(err) : undefined });
    setTimeout(() => void reconnect(i, backoffMs), backoffMs);
  });
}
async function reconnect(i: number, backoffMs: number): Promise<void> {
  if (stopped.has(i)) return;
  (clients[i] as RegistryClient).close();
  clients[i] = new RegistryClient(address, credentials[i] as TlsCredentials);
  const next = Math.min(backoffMs * 2, 5000);
  try {
    await (clients[i] as RegistryClient).register(hostInfo(i));
  } catch (err) {
    say({ registerError: hostName(i), error: errorsShown++ < 5 ? String(err) : undefined });
    setTimeout(() => void reconnect(i, next), next);
    return;
  }
  say({ reopened: hostName(i) });
  stream(i, next);
}

// Registration as fast as the controller takes it, 100 in flight; each agent opens its usage stream
// (its heartbeat) as soon as it is registered, as a real agent does.
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 100 }, async () => {
    for (let i = next++; i < AGENTS; i = next++) {
      await (clients[i] as RegistryClient).register(hostInfo(i));
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
