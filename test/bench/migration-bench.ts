// Cold migration of an LXC container host1 → host2 through the real controller and agents,
// beside a raw `tar | tar` pipe of the same tree made just before migrating.
import { mkdirSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Compression, Migration, MigrationPhase } from "@corral/wire";
import { SOURCE, TARGET, type BenchContext } from "./bench-context.js";
import type { Report } from "./report.js";
import { mergeResults } from "./bench-results.js";
import { HX, bash, hxBash, sh, timed } from "./shell.js";
import { mib, ms, rate, ratio } from "./stats.js";

interface Case {
  key: string;
  label: string;
  name: string;
  fillMiB: number;
  compression: Compression;
  /** The tree holds many small files besides the large ones (the downtime case of issue 8). */
  mixed?: boolean;
}

const CASES: Case[] = [
  { key: "a", label: "fresh busybox", name: "bench-mig-a", fillMiB: 0, compression: "none" },
  { key: "b", label: "busybox + 200 MiB", name: "bench-mig-b", fillMiB: 200, compression: "none" },
  { key: "b-zstd", label: "busybox + 200 MiB, zstd", name: "bench-mig-z", fillMiB: 200, compression: "zstd" },
  { key: "c", label: "1 GiB: 4 × 200 MiB + 7168 × 32 KiB", name: "bench-mig-c", fillMiB: 800, compression: "none", mixed: true },
];
const SMALL_FILES = 7168;
const SMALL_KIB = 32;
const FILE_MIB = 25;

/** Steps between phase marks: a phase is recorded before its step runs, so a step lasts until the next mark. */
const STEPS: [string, MigrationPhase, MigrationPhase][] = [
  ["prepare", "planned", "source_stopped"],
  ["stop", "source_stopped", "transferring"],
  ["transfer", "transferring", "transferred"],
  ["commit", "transferred", "target_started"],
  ["start", "target_started", "source_removed"],
  ["remove source", "source_removed", "done"],
];

interface Timed {
  totalMs: number;
  marks: Map<MigrationPhase, number>;
  final: Migration;
}

async function migrateTimed(ctx: BenchContext, name: string, compression: Compression): Promise<Timed> {
  const marks = new Map<MigrationPhase, number>([["planned", 0]]);
  const t0 = performance.now();
  let final: Migration | undefined;
  for await (const u of ctx.client.migrate(name, TARGET, compression)) {
    if (!marks.has(u.migration.phase)) marks.set(u.migration.phase, performance.now() - t0);
    final = u.migration;
  }
  const totalMs = performance.now() - t0;
  if (!final || final.phase !== "done") throw new Error(`migration of ${name} ended in phase ${final?.phase ?? "none"}`);
  return { totalMs: marks.get("done") ?? totalMs, marks, final };
}

/**
 * The 1 GiB container moved back with --precopy; `change` runs (on the container's host, as its
 * processes would) once the first pass is under way, and must finish before the stop.
 */
async function precopyTimed(ctx: BenchContext, name: string, to: string, change: () => Promise<unknown>): Promise<{ final: Migration; firstPassMs: number; changed: boolean }> {
  let final: Migration | undefined;
  let changing: Promise<unknown> | undefined;
  let passStart = 0;
  let passEnd = 0;
  let done = false;
  let changed = false;
  for await (const u of ctx.client.migrate(name, to, { precopy: true })) {
    if (u.migration.phase === "precopying" && !changing) {
      passStart = performance.now();
      changing = change().then(() => (done = true));
      changing.catch(() => undefined);
    }
    if (u.migration.phase === "source_stopped" && !passEnd) {
      passEnd = performance.now();
      // A change that had not finished by the stop would make the figure a lie: it is printed.
      changed = done;
    }
    final = u.migration;
  }
  if (!final || final.phase !== "done") throw new Error(`pre-copy migration of ${name} ended in phase ${final?.phase ?? "none"}: ${final?.error ?? ""}`);
  await changing;
  return { final, firstPassMs: passEnd - passStart, changed };
}

/** About 1 % of case c, changed in place: 240 small files rewritten, 40 removed, 40 added, 2 MiB appended to a large file, one chmod. */
const CHANGE_1PCT = `cd /root
for d in 1 2 3 4 5 6 7 8; do for f in $(seq 1 30); do head -c ${SMALL_KIB * 1024} /dev/urandom > small/$d/$f; done; done
for f in $(seq 1 40); do rm -f small/9/$f; head -c ${SMALL_KIB * 1024} /dev/urandom > small/10/new$f; done
head -c 2097152 /dev/urandom >> fill1
chmod 0600 fill2`;

function stepTimes(marks: Map<MigrationPhase, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [label, from, to] of STEPS) {
    const a = marks.get(from);
    const b = marks.get(to);
    if (a !== undefined && b !== undefined) out.set(label, b - a);
  }
  return out;
}

// The tar flags Corral's agents use (packages/agent/src/archive), for a second, like-for-like pipe.
const CORRAL_FLAGS = "--numeric-owner --xattrs --xattrs-include='*' --acls";

/** The raw pipe, as a person would copy the container's directory by hand. */
async function rawPipe(lxcPath: string, name: string, dest: string, opts: { zstd?: boolean; corralFlags?: boolean } = {}): Promise<number> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  await bash("sync");
  const mid = opts.zstd ? " | zstd -1 -T0 -q -c | zstd -d -q -c" : "";
  const [c, x] = opts.corralFlags ? [`${CORRAL_FLAGS} --sparse`, `${CORRAL_FLAGS} --same-owner --same-permissions`] : ["--numeric-owner", ""];
  const script = `tar -c ${c} -C "$1" "$2"${mid} | tar -x ${x} -C "$3"`;
  const { ms: t } = await timed(() => bash(script, [lxcPath, name, dest]));
  rmSync(dest, { recursive: true, force: true });
  return t;
}

/**
 * The same tree over TCP from the source host's namespace to the target's: what the wire costs. With
 * `mtls`, over mutual TLS with the hosts' own certificates (the ciphers Corral's transfer gets).
 */
async function rawTcpPipe(ctx: BenchContext, lxcPath: string, name: string, dest: string, mtls = false): Promise<{ ms: number; relayCpuMs: CpuSplit }> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const script = join(dirname(fileURLToPath(import.meta.url)), "tcp-pipe.js");
  const targetIp = (await ctx.client.listHosts()).find((h) => h.name === TARGET)!.address.replace(/:\d+$/, "");
  // hx runs the command in the host's namespace; env(1) hands it the host's tls/ directory.
  const node = (host: string) => (mtls ? ["env", `TLS_DIR=${join(ctx.cluster.hostDir(host), "tls")}`, process.execPath] : [process.execPath]);
  // Port 0: the receiver says which port it got ("listening PORT").
  const recv = spawn(HX, [ctx.ns(TARGET), ...node(TARGET), script, "recv", targetIp, "0", dest], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    recv.stdout!.once("data", (d: Buffer) => resolve(/listening (\d+)/.exec(d.toString())?.[1] ?? "0"));
    recv.once("close", (code) => reject(new Error(`tcp-pipe receiver exited ${code}`)));
  });
  let recvOut = "";
  recv.stdout!.on("data", (d: Buffer) => (recvOut += d.toString()));
  const received = new Promise<void>((resolve, reject) => recv.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`tcp-pipe receiver exited ${code}`)))));
  let sendOut = "";
  const { ms: t } = await timed(async () => {
    sendOut = await sh(HX, [ctx.ns(SOURCE), ...node(SOURCE), script, "send", targetIp, port, lxcPath, name]);
    await received;
  });
  rmSync(dest, { recursive: true, force: true });
  const cpu = (out: string) => Number(/cpu (\d+)/.exec(out)?.[1] ?? NaN);
  return { ms: t, relayCpuMs: { source: cpu(sendOut), target: cpu(recvOut) } };
}

/** CPU time (user + system, ms) an agent has used so far, from /proc. */
async function agentCpuMs(ctx: BenchContext, host: string): Promise<number> {
  const pid = (await ctx.cluster.script("agent-pid", host)).trim();
  const fields = (await bash(`cat /proc/${pid}/stat`)).split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat(5), counted from the state field (3) here.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface CpuSplit {
  source: number;
  target: number;
}
const cpuSum = (c: CpuSplit) => c.source + c.target;
const cpuText = (c: CpuSplit) => `${ms(cpuSum(c))} (source ${ms(c.source)}, target ${ms(c.target)})`;

export async function benchMigration(ctx: BenchContext, report: Report): Promise<void> {
  console.log(`\n== cold migration, LXC, ${SOURCE} → ${TARGET} (through controller and agents) ==`);
  const scratch = join(ctx.cluster.root, "bench-raw");
  const lp = ctx.lxcPath(SOURCE);
  const figures: Record<string, number> = {};
  for (const c of CASES) {
    if (!ctx.wants(`migrate-${c.key}`) && !ctx.wants("migrate")) continue;
    await ctx.create({ name: c.name, backend: "lxc", template: "busybox" }, SOURCE);
    if (c.fillMiB > 0) {
      const n = Math.ceil(c.fillMiB / FILE_MIB);
      const script = `i=1; while [ $i -le ${n} ]; do head -c ${FILE_MIB * 1048576} /dev/urandom > /root/fill$i || exit 1; i=$((i+1)); done; sync`;
      const fill = await timed(() => ctx.exec(c.name, ["sh", "-c", script]));
      console.log(`(${c.key}) wrote ${n} × ${FILE_MIB} MiB from /dev/urandom into ${c.name} in ${ms(fill.ms)} (incompressible data)`);
    }
    if (c.mixed) {
      // Small files in 64 directories; busybox writes them inside the container, so owners are its own.
      const script = `cd /root && for d in $(seq 1 64); do mkdir -p small/$d; for f in $(seq 1 ${SMALL_FILES / 64}); do head -c ${SMALL_KIB * 1024} /dev/urandom > small/$d/$f; done; done; sync`;
      const fill = await timed(() => ctx.exec(c.name, ["sh", "-c", script]));
      console.log(`(${c.key}) wrote ${SMALL_FILES} × ${SMALL_KIB} KiB into ${c.name} in ${ms(fill.ms)}`);
    }
    const treeBytes = Number((await bash(`du -sb "$1/$2" | cut -f1`, [lp, c.name])).trim());
    const dest = join(scratch, c.name);
    const raw = await rawPipe(lp, c.name, dest);
    const rawFlags = await rawPipe(lp, c.name, dest, { corralFlags: true });
    const tcp = c.compression === "none" ? await rawTcpPipe(ctx, lp, c.name, dest) : undefined;
    const tls = c.compression === "none" ? await rawTcpPipe(ctx, lp, c.name, dest, true) : undefined;
    const rawTcp = tcp?.ms;
    const rawTls = tls?.ms;
    const rawZ = c.compression === "zstd" ? await rawPipe(lp, c.name, dest, { zstd: true }) : undefined;
    await bash("sync");
    const cpu0 = { source: await agentCpuMs(ctx, SOURCE), target: await agentCpuMs(ctx, TARGET) };
    const m = await migrateTimed(ctx, c.name, c.compression);
    const agentsCpu = { source: (await agentCpuMs(ctx, SOURCE)) - cpu0.source, target: (await agentCpuMs(ctx, TARGET)) - cpu0.target };
    const steps = stepTimes(m.marks);
    const transferMs = steps.get("transfer") ?? NaN;
    const observedDowntime = (m.marks.get("source_removed") ?? NaN) - (m.marks.get("source_stopped") ?? NaN);
    const baseline = rawZ ?? raw;
    const baseName = rawZ !== undefined ? "raw tar|zstd -1|zstd -d|tar" : "raw tar|tar";

    console.log(`(${c.key}) ${c.label}: tree ${mib(treeBytes)} (${treeBytes} bytes), compression ${c.compression}`);
    console.log(`    corral migrate      ${ms(m.totalMs).padStart(9)}   recorded downtime ${ms(m.final.downtimeMs)}, ${m.final.bytes} bytes moved (estimate ${m.final.totalBytes}), sha256 ${m.final.sha256.slice(0, 12)}…`);
    console.log(`    phases              ${STEPS.map(([l]) => `${l} ${ms(steps.get(l) ?? NaN)}`).join(" | ")}`);
    console.log(`    observed downtime   ${ms(observedDowntime).padStart(9)}   (stop begins → target started, as seen from the update stream)`);
    const stopStart = (steps.get("stop") ?? NaN) + (steps.get("start") ?? NaN);
    const b = rawZ !== undefined ? "raw zstd" : "raw";
    console.log(`    raw tar|tar         ${ms(raw).padStart(9)}   ${rate(treeBytes, raw)}   (tar -c --numeric-owner | tar -x)`);
    console.log(`    raw, Corral flags   ${ms(rawFlags).padStart(9)}   ${rate(treeBytes, rawFlags)}   (+ --xattrs --acls --sparse, --same-owner --same-permissions)`);
    if (rawTcp !== undefined) {
      console.log(`    raw tar→TCP→tar     ${ms(rawTcp).padStart(9)}   ${rate(treeBytes, rawTcp)}   (${SOURCE} namespace → ${TARGET} namespace over the bridge)`);
      console.log(`    transfer/raw TCP    ${ratio(transferMs, rawTcp).padStart(9)}   (Corral's transfer: the agents' mutual-TLS data connection, both SHA-256s and the tar guard on the same hop)`);
    }
    if (rawTls !== undefined && rawTcp !== undefined) {
      console.log(`    raw tar→mTLS→tar    ${ms(rawTls).padStart(9)}   ${rate(treeBytes, rawTls)}   (the same pipe over mutual TLS with the hosts' certificates)`);
      console.log(`    mTLS/raw TCP        ${ratio(rawTls, rawTcp).padStart(9)}   (what TLS alone costs; the rest of transfer/raw TCP is framing, hashing and the guard)`);
    }
    console.log(`    agents' CPU         ${cpuText(agentsCpu)}   (the whole migration, both agents, tar not included)`);
    if (tcp && tls) {
      console.log(`    relays' CPU, TCP    ${cpuText(tcp.relayCpuMs)}   (the raw pipe's two node relays, tar not included)`);
      console.log(`    relays' CPU, mTLS   ${cpuText(tls.relayCpuMs)}`);
      console.log(`    agents/TCP relays   ${ratio(cpuSum(agentsCpu), cpuSum(tcp.relayCpuMs)).padStart(9)}   CPU, steadier than the wall clock on a loaded machine (mTLS relays: ${ratio(cpuSum(tls.relayCpuMs), cpuSum(tcp.relayCpuMs))})`);
      report.add({ metric: `migrate (${c.key}) agents' CPU vs the raw TCP relays' CPU`, corral: ms(cpuSum(agentsCpu)), baseline: `${ms(cpuSum(tcp.relayCpuMs))} relays`, ratio: ratio(cpuSum(agentsCpu), cpuSum(tcp.relayCpuMs)) });
    }
    if (rawZ !== undefined) console.log(`    raw tar|zstd|tar    ${ms(rawZ).padStart(9)}   ${rate(treeBytes, rawZ)}   (zstd -1 -T0 | zstd -d, as the agents do)`);
    console.log(`    corral/${b.padEnd(13)}${ratio(m.totalMs, baseline).padStart(9)}   (Corral includes the clean stop ${ms(steps.get("stop") ?? NaN)} and the start ${ms(steps.get("start") ?? NaN)})`);
    console.log(`    corral/(stop+${b}+start) ${ratio(m.totalMs, baseline + stopStart)}   (derived: the same by hand, with Corral's own stop and start times)`);
    console.log(`    transfer/${b.padEnd(11)}${ratio(transferMs, baseline).padStart(9)}   (transfer phase ${ms(transferMs)}, ${rate(m.final.bytes, transferMs)} on the wire)`);

    report.add({ metric: `migrate (${c.key}) ${c.label}: total`, corral: ms(m.totalMs), baseline: `${ms(baseline)} ${baseName}`, ratio: ratio(m.totalMs, baseline) });
    report.add({ metric: `migrate (${c.key}) transfer phase only`, corral: ms(transferMs), baseline: `${ms(baseline)} ${baseName}`, ratio: ratio(transferMs, baseline) });
    if (rawTcp !== undefined) {
      report.add({ metric: `migrate (${c.key}) transfer (mutual TLS) vs raw tar over TCP`, corral: ms(transferMs), baseline: `${ms(rawTcp)} tar→TCP→tar`, ratio: ratio(transferMs, rawTcp) });
    }
    if (rawTls !== undefined && rawTcp !== undefined) {
      report.add({ metric: `migrate (${c.key}) raw tar over mutual TLS vs over TCP`, corral: ms(rawTls), baseline: `${ms(rawTcp)} tar→TCP→tar`, ratio: ratio(rawTls, rawTcp) });
    }
    report.add({ metric: `migrate (${c.key}) downtime: recorded / observed`, corral: `${ms(m.final.downtimeMs)} / ${ms(observedDowntime)}`, baseline: "", ratio: "" });
    // Issue 8's keys: the data path against the raw pipe on the 200 MiB case, downtime on the 1 GiB one.
    if (c.key === "b" && rawTcp !== undefined) figures.transferVsRawTcp = Number((transferMs / rawTcp).toFixed(3));
    if (c.key === "b" && tcp) figures.agentsCpuVsRawTcpRelaysCpu = Number((cpuSum(agentsCpu) / cpuSum(tcp.relayCpuMs)).toFixed(3));
    if (c.key === "c") {
      figures.coldDowntimeMs = m.final.downtimeMs;
      figures.stopMs = m.final.stopMs;
      figures.coldFinalSyncMs = m.final.finalSyncMs;
      figures.coldStartMs = m.final.startMs;
      // The same container back to the source with --precopy, 1 % of it changed during the first pass.
      const lpt = ctx.lxcPath(TARGET);
      // As before the cold move: the hosts share one disk here, and busybox's init syncs it as it
      // stops, so the cold move's gigabyte still being written back would count as stop time.
      await bash("sync");
      const p = await precopyTimed(ctx, c.name, SOURCE, () => hxBash(ctx.ns(TARGET), `lxc-attach -P "$1" -n "$2" -- sh -c "$3"`, [lpt, c.name, CHANGE_1PCT]));
      const coldAfterStop = m.final.downtimeMs - m.final.stopMs;
      const afterStop = p.final.downtimeMs - p.final.stopMs;
      console.log(`(${c.key}) pre-copy back ${TARGET} → ${SOURCE}, ~1 % changed during the first pass (${ms(p.firstPassMs)}${p.changed ? "" : ", CHANGE STILL RUNNING AT STOP"}):`);
      console.log(`    downtime pre-copy   ${ms(p.final.downtimeMs).padStart(9)}   (stop ${ms(p.final.stopMs)}, final sync ${ms(p.final.finalSyncMs)}, start ${ms(p.final.startMs)})`);
      console.log(`    downtime cold       ${ms(m.final.downtimeMs).padStart(9)}   (stop ${ms(m.final.stopMs)}, final sync ${ms(m.final.finalSyncMs)}, start ${ms(m.final.startMs)}; same container, same run)`);
      console.log(`    after the stop      ${ms(afterStop).padStart(9)}   vs cold ${ms(coldAfterStop)} = ${((100 * afterStop) / coldAfterStop).toFixed(1)} % (goal ≤ 1000 ms and ≤ 10 %)`);
      report.add({ metric: `migrate (${c.key}) downtime with --precopy, 1 % changed`, corral: ms(p.final.downtimeMs), baseline: `${ms(m.final.downtimeMs)} cold`, ratio: ratio(p.final.downtimeMs, m.final.downtimeMs) });
      report.add({ metric: `migrate (${c.key}) downtime minus the clean stop, --precopy`, corral: ms(afterStop), baseline: `${ms(coldAfterStop)} cold`, ratio: ratio(afterStop, coldAfterStop) });
      figures.precopyDowntimeMs = p.final.downtimeMs;
      figures.precopyDowntimeAfterStopMs = afterStop;
      figures.precopyStopMs = p.final.stopMs;
      figures.precopyFinalSyncMs = p.final.finalSyncMs;
      figures.precopyStartMs = p.final.startMs;
      figures.precopyFirstPassMs = Math.round(p.firstPassMs);
    }
    await ctx.remove(c.name);
  }
  if (Object.keys(figures).length) mergeResults("migration", figures);
}
