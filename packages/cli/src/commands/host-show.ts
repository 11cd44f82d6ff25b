import { formatBytes, notFound, type BackendInfo, type Container, type Host } from "@corral/wire";
import type { Context } from "../command.js";
import { colourise, formatTable } from "../table.js";
import { isoTime, stateColour, trimNumber } from "../present.js";
import { didYouMean } from "../did-you-mean.js";

export const name = "host show";
export const synopsis = "Show one host: capacity, reserved and used CPU, memory and disk, backends, containers";
export const help = `Usage: corral host show HOST [--json]

Capacity is what the host reported; reserved is what the scheduler has promised to its
containers' limits (disk: their disk limits, "-" when none has one); used is what they use now (CPU and memory from the last usage report,
disk from the host's free space). Each backend says why it is unavailable when it is.`;
export const examples = ["corral host show host1", "corral host show host1 --json | jq .used"];
export const positionals = "hosts";

export interface HostShowJson {
  name: string;
  address: string;
  state: string;
  lastSeenUnixMs: number;
  capacity: { cpus: number; memoryBytes: number; diskBytes: number };
  reserved: { cpus: number; memoryBytes: number; diskBytes: number };
  /** Reservations may reach capacity × overcommit. */
  overcommit: number;
  used: { cpus: number; memoryBytes: number; diskBytes: number };
  backends: BackendInfo[];
  containers: { name: string; backend: string; state: string; desiredState: string }[];
}

export async function run(ctx: Context): Promise<void> {
  const wanted = ctx.args.positional(0, "host name (corral host show HOST)");
  ctx.args.noMorePositionals(1);
  const conn = ctx.connection();
  const hosts = await conn.call((c) => c.listHosts());
  const host = hosts.find((h) => h.name === wanted);
  if (!host) throw notFound(`host "${wanted}" not found${didYouMean(wanted, hosts.map((h) => h.name), (h) => `"${h}"`)}`);
  const cts = (await conn.call((c) => c.list(host.name))).sort((a, b) => a.name.localeCompare(b.name));
  const doc = hostShowJson(host, cts);
  if (ctx.json) return ctx.printJson(doc);
  for (const l of describeHost(doc, ctx.colour)) ctx.print(l);
}

export function hostShowJson(h: Host, cts: readonly Container[]): HostShowJson {
  const running = cts.filter((c) => c.state === "running" && c.usage);
  return {
    name: h.name,
    address: h.address,
    state: h.state,
    lastSeenUnixMs: h.lastSeenUnixMs,
    capacity: { cpus: h.cpus, memoryBytes: h.memoryBytes, diskBytes: h.diskBytes },
    reserved: { cpus: h.reservedCpus, memoryBytes: h.reservedMemoryBytes, diskBytes: h.reservedDiskBytes },
    overcommit: h.overcommit,
    used: {
      cpus: Math.round(running.reduce((n, c) => n + (c.usage?.cpuPercent ?? 0), 0)) / 100,
      memoryBytes: running.reduce((n, c) => n + (c.usage?.memoryBytes ?? 0), 0),
      diskBytes: h.diskBytes > 0 ? Math.max(0, h.diskBytes - h.diskFreeBytes) : 0,
    },
    backends: h.backends,
    containers: cts.map((c) => ({ name: c.name, backend: c.backend, state: c.state, desiredState: c.desiredState })),
  };
}

const share = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : "");

export function describeHost(d: HostShowJson, colour = false): string[] {
  const lines = [
    `Name:      ${d.name}`,
    `Address:   ${d.address}`,
    `State:     ${colourise(colour, stateColour(d.state), d.state)}`,
    `Last seen: ${d.lastSeenUnixMs ? isoTime(d.lastSeenUnixMs) : "never"}`,
    // Only when set: 1.0 (never beyond capacity) is what everyone expects.
    ...(d.overcommit !== 1 ? [`Overcommit: ×${trimNumber(d.overcommit)} (reservations may reach capacity × ${trimNumber(d.overcommit)})`] : []),
    "",
    ...formatTable(
      ["", "CAPACITY", "RESERVED", "USED"],
      [
        ["CPU", trimNumber(d.capacity.cpus), `${trimNumber(d.reserved.cpus)}${share(d.reserved.cpus, d.capacity.cpus)}`, `${trimNumber(d.used.cpus)}${share(d.used.cpus, d.capacity.cpus)}`],
        ["Memory", formatBytes(d.capacity.memoryBytes), `${formatBytes(d.reserved.memoryBytes)}${share(d.reserved.memoryBytes, d.capacity.memoryBytes)}`, `${formatBytes(d.used.memoryBytes)}${share(d.used.memoryBytes, d.capacity.memoryBytes)}`],
        // "-": no container placed here has a disk limit (most runtimes have no disk quota).
        ["Disk", formatBytes(d.capacity.diskBytes), d.reserved.diskBytes ? `${formatBytes(d.reserved.diskBytes)}${share(d.reserved.diskBytes, d.capacity.diskBytes)}` : "-", `${formatBytes(d.used.diskBytes)}${share(d.used.diskBytes, d.capacity.diskBytes)}`],
      ],
      { align: ["left", "right", "right", "right"] },
    ),
    "",
    "Backends:",
    ...formatTable(
      ["  NAME", "STATUS"],
      d.backends.map((b) => [`  ${b.name}`, b.available ? "available" : `unavailable: ${b.reason || "no reason given"}`]),
    ).slice(1),
    "",
    `Containers (${d.containers.length}):`,
  ];
  if (!d.containers.length) return [...lines, "  none"];
  const rows = d.containers.map((c) => [`  ${c.name}`, c.backend, c.state === c.desiredState ? c.state : `${c.state} (desired ${c.desiredState})`]);
  return [...lines, ...formatTable(["  NAME", "BACKEND", "STATE"], rows)];
}
