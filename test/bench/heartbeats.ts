// npm run bench:heartbeats: 5,000 simulated agents, driven from a separate process over real gRPC
// with mutual TLS (each joins for a host certificate of its own and dials with it on its own
// connection), register with a real controller (in this process, so that its CPU, TLS included, can
// be measured) and keep usage streams open with 10 containers each, reporting every 5 s. A few agents stop half-way: they must
// be marked down within their window; no other host may be. Figures only, merged into bench-results.json.
//   npm run bench:heartbeats [-- --agents N --seconds S]
import { spawn } from "node:child_process";
import { initClusterPki } from "@corral/wire";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { insertContainer, setContainerState, startController } from "@corral/controller/bench-support";
import { loadAverage, mergeResults } from "./bench-results.js";
import { table } from "./stats.js";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "5000" },
    seconds: { type: "string", default: "60" },
    interval: { type: "string", default: "5000" },
    containers: { type: "string", default: "10" },
  },
});
const AGENTS = Number(values.agents);
const SECONDS = Number(values.seconds);
const INTERVAL = Number(values.interval);
const CONTAINERS = Number(values.containers);
const TIMEOUT = 3 * INTERVAL;
const STOP_COUNT = 5;

const dir = mkdtempSync(join(tmpdir(), "corral-bench-heartbeats-"));
await initClusterPki(dir);
const controller = await startController({
  listen: "127.0.0.1:0",
  db: join(dir, "corral.db"),
  stateDir: dir,
  reportIntervalMs: INTERVAL,
  heartbeatTimeoutMs: TIMEOUT,
  logger: pino({ level: "silent" }),
});
const store = controller.store;
console.log(`corral bench:heartbeats: ${new Date().toISOString()}, node ${process.version}, ${AGENTS} agents × ${CONTAINERS} containers every ${INTERVAL} ms, ${SECONDS} s steady, ${loadAverage()}`);

// Stalls of the controller's event loop over the whole run, by phase: a tick every 100 ms that fires
// 500 ms or more late is a stall (what liveness credits to every host, so what delays a down).
let phase = "join";
const stalls: { phase: string; ms: number }[] = [];
let lastTick = performance.now();
const stallTimer = setInterval(() => {
  const now = performance.now();
  const late = now - lastTick - 100;
  lastTick = now;
  if (late >= 500) stalls.push({ phase, ms: late });
}, 100);

const agentsJs = new URL("./heartbeat-agents.js", import.meta.url).pathname;
const stopAfterMs = Math.round((SECONDS * 1000) / 3);
const child = spawn(process.execPath, [agentsJs, controller.address, dir, String(AGENTS), String(INTERVAL), String(CONTAINERS), String(stopAfterMs), String(STOP_COUNT)], {
  stdio: ["ignore", "pipe", "inherit"],
});
// The agents process's CPU (utime + stime in /proc, 100 ticks a second on Linux): 5,000 TLS
// channels cost it too, and a saturated agents process delays reports before they are sent.
const childCpuSeconds = () => {
  const fields = readFileSync(`/proc/${String(child.pid)}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const events: Record<string, unknown>[] = [];
let measuring = true;
// An agents process that dies (a failed join, say) would leave the waits below hanging.
child.on("exit", (code, signal) => {
  if (!measuring) return;
  console.error(`the agents process ended early (${signal ?? `exit ${String(code)}`})`);
  process.exit(1);
});
let streamErrors = 0;
let reopened = 0;
let onEvent: (() => void) | undefined;
createInterface({ input: child.stdout }).on("line", (l) => {
  const e = JSON.parse(l) as Record<string, unknown>;
  if ("reopened" in e) reopened++;
  if ("registerError" in e && e.error) console.error(`register again of ${String(e.registerError)} failed: ${String(e.error)}`);
  if ("streamError" in e) {
    streamErrors++;
    if (e.error) console.error(`stream of ${String(e.streamError)} failed: ${String(e.error)}`);
  }
  events.push(e);
  onEvent?.();
});
const waitFor = (key: string) =>
  new Promise<Record<string, unknown>>((resolve) => {
    const check = () => {
      const e = events.find((x) => key in x);
      if (e) resolve(e);
    };
    onEvent = check;
    check();
  });

const joined = await waitFor("joined");
console.log(`joined ${AGENTS} hosts (a certificate each through Join) at ${Number(joined.perSecond).toFixed(0)}/s`);
phase = "register";
const registered = await waitFor("registered");
phase = "setup";
console.log(`registered ${AGENTS} agents at ${Number(registered.perSecond).toFixed(0)}/s, ${loadAverage()}`);
// The containers the agents report exist in the controller, as they would after their creates: a
// transaction per 100 hosts and a turn of the loop between, as group commit takes creates. One
// transaction of all 50,000 stalled the loop for up to 19 s, which liveness rightly credited to every
// host, so the hosts stopped later were marked down that much late.
const hostNames = store.state.hosts().map((h) => h.name);
for (let i = 0; i < hostNames.length; i += 100) {
  store.tx(() => {
    for (const host of hostNames.slice(i, i + 100)) {
      for (let k = 0; k < CONTAINERS; k++) {
        const name = `${host}-c${k}`;
        const spec = { name, backend: "lxc" as const, template: "busybox", image: "", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {} };
        insertContainer(store.db, spec, host, "running", Date.now());
        setContainerState(store.db, name, "running");
      }
    }
  });
  await new Promise((r) => setImmediate(r));
}
phase = "steady";

// Steady state: report → state latency from each host's first container (its cpuNanos is the send
// time), sampled every 100 ms; the controller's CPU from this process's own usage.
const latencies: number[] = [];
const seen = new Map<string, number>();
const cpu0 = process.cpuUsage();
const childCpu0 = childCpuSeconds();
// The controller's own event-loop lag: tells a slow controller from a slow agents process or OS.
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
// GC pauses of the controller's process while steady: what stalls the loop when reports wait.
const gcPauses: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push(e.duration);
});
gcObserver.observe({ entryTypes: ["gc"] });
// CORRAL_BENCH_CPU_PROFILE=FILE: a CPU profile of the steady phase only (open it in Chrome DevTools).
const profileFile = process.env.CORRAL_BENCH_CPU_PROFILE;
const profiler = profileFile ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.start");
}
// Report → state as the controller times it: from decoding the report off its connection to the
// state holding it (the goal's figure). Send → state below also counts the agents process's own
// queues and the kernel's, which are not the controller's.
const applied = controller.metrics.reportToStateUs;
applied.reset();
const t0 = performance.now();
const stopped = waitFor("stopped");
let stoppedAt = 0;
let stoppedNames: string[] = [];
void stopped.then((e) => {
  stoppedAt = Number(e.at);
  stoppedNames = e.stopped as string[];
});
const downAt = new Map<string, number>();
while (performance.now() - t0 < SECONDS * 1000) {
  await new Promise((r) => setTimeout(r, 100));
  for (const h of store.state.hosts()) {
    if (h.state === "down" && !downAt.has(h.name)) downAt.set(h.name, Date.now());
    const u = store.state.usageOf(`${h.name}-c0`);
    if (!u || seen.get(h.name) === u.cpuNanos) continue;
    seen.set(h.name, u.cpuNanos);
    latencies.push(Math.max(0, h.lastSeenUnixMs - u.cpuNanos));
  }
}
const cpu = process.cpuUsage(cpu0);
const childCpu = childCpuSeconds() - childCpu0;
clearInterval(stallTimer);
// When liveness marked each host down, from its event (the poll above runs on the same loop, so a
// stall would delay what it saw).
for (const e of store.db.prepare("SELECT payload, created_ms FROM events WHERE subject = 'corral.host.down'").all() as { payload: string; created_ms: number }[]) {
  const host = (JSON.parse(e.payload) as { host: string }).host;
  downAt.set(host, Math.min(downAt.get(host) ?? Infinity, e.created_ms));
}
gcObserver.disconnect();
if (profiler && profileFile) {
  const { profile } = await profiler.post("Profiler.stop");
  writeFileSync(profileFile, JSON.stringify(profile));
  profiler.disconnect();
}
lag.disable();
const appliedP50 = applied.percentile(50) / 1000;
const appliedP99 = applied.percentile(99) / 1000;
const appliedMax = applied.max / 1000;
const appliedCount = applied.count;
const lagP99 = lag.percentile(99) / 1e6;
const lagMax = lag.max / 1e6;
const wall = (performance.now() - t0) / 1000;
const cpuShare = (cpu.user + cpu.system) / 1e6 / wall;
const agentsCpuShare = childCpu / wall;
measuring = false;
child.kill("SIGTERM");
await controller.close();
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
const gcTotalMs = gcPauses.reduce((a, b) => a + b, 0);
const gcMaxMs = gcPauses.length ? Math.max(...gcPauses) : 0;
const stallSummary = (p: string) => {
  const xs = stalls.filter((x) => x.phase === p).map((x) => x.ms);
  return { count: xs.length, maxMs: xs.length ? Math.round(Math.max(...xs)) : 0, totalMs: Math.round(xs.reduce((a, b) => a + b, 0)) };
};
const stallBy = Object.fromEntries(["join", "register", "setup", "steady"].map((p) => [p, stallSummary(p)]));
const falseDown = [...downAt.keys()].filter((h) => !stoppedNames.includes(h));
const detected = stoppedNames.filter((h) => downAt.has(h)).map((h) => (downAt.get(h) as number) - stoppedAt);
const detectedMax = detected.length ? Math.max(...detected) : NaN;

console.log(
  table(
    ["metric", "corral", "goal / baseline"],
    [
      ["agents", String(AGENTS), ""],
      ["joins/s (token, certificate request, Join)", Number(joined.perSecond).toFixed(0), ""],
      ["registrations/s (own TLS connection each)", Number(registered.perSecond).toFixed(0), "30–65/s on the landed code"],
      ["controller CPU (share of one core)", cpuShare.toFixed(3), "≤ 0.5; landed code 0.83"],
      ["agents process CPU (share of one core)", agentsCpuShare.toFixed(3), "not the controller's; high means sends are late"],
      ["report → state p50 / p99 / max (ms), controller's receipt to state", `${appliedP50.toFixed(2)} / ${appliedP99.toFixed(2)} / ${appliedMax.toFixed(1)}`, "p99 ≤ 10"],
      ["  reports timed", String(appliedCount), ""],
      ["send → state p50 / p99 (ms), agent's clock to state", `${pct(50)} / ${pct(99)}`, "landed code 2,400 / 5,500 (then called report → state)"],
      ["  reports sampled", String(latencies.length), ""],
      ["controller event-loop lag p99 / max (ms)", `${lagP99.toFixed(1)} / ${lagMax.toFixed(1)}`, ""],
      ...Object.entries(stallBy).map(([p, x]) => [`controller loop stalls ≥ 500 ms in ${p}: count / max / total (ms)`, `${x.count} / ${x.maxMs} / ${x.totalMs}`, ""]),
      ["controller GC: pauses / total / max (ms)", `${gcPauses.length} / ${gcTotalMs.toFixed(0)} / ${gcMaxMs.toFixed(1)}`, ""],
      ["hosts wrongly marked down", String(falseDown.length), "0; landed code 1,725"],
      ["stopped agents marked down", `${detected.length} of ${stoppedNames.length}, latest after ${detectedMax} ms`, `≤ ${INTERVAL} ms (last report) + ${TIMEOUT} ms window + 1 s tick`],
      ["streams dropped / reopened (register again, as the agent does)", `${streamErrors} / ${reopened}`, "landed code 3,090 of 4,999 dropped"],
      ["at the end", loadAverage(), "other work on this machine skews every figure"],
    ],
  ),
);
mergeResults("heartbeats", {
  agents: AGENTS,
  cpuShare: Number(cpuShare.toFixed(3)),
  p50Ms: Number(appliedP50.toFixed(3)),
  p99Ms: Number(appliedP99.toFixed(3)),
  maxMs: Number(appliedMax.toFixed(1)),
  sendToStateP50Ms: pct(50),
  sendToStateP99Ms: pct(99),
  falseDown: falseDown.length,
  registrationsPerSecond: Math.round(Number(registered.perSecond)),
  joinsPerSecond: Math.round(Number(joined.perSecond)),
  stoppedDetected: detected.length,
  stoppedDetectedMaxMs: detectedMax,
  streamErrors,
  streamsReopened: reopened,
  agentsCpuShare: Number(agentsCpuShare.toFixed(3)),
  loopLagP99Ms: Number(lagP99.toFixed(1)),
  loopLagMaxMs: Number(lagMax.toFixed(1)),
  stalls: stallBy,
  gcTotalMs: Math.round(gcTotalMs),
  gcMaxMs: Number(gcMaxMs.toFixed(1)),
});
process.exit(0);
