import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { colourise, formatTable } from "../table.js";
import { CONTAINER_HEADERS, containerJson, containerRow, formatAge, stateColour } from "../present.js";

export const name = "ct list";
export const synopsis = "List containers on all hosts, with live CPU, memory and pids";
export const help = `Usage: corral ct list [--host HOST] [--drift] [--json]

Lists every container the controller manages. IPV4 is its address on the cluster network
(reachable from every host, kept across migration). CPU%, MEMORY and PIDS come from the
hosts' latest usage reports and show "-" for containers that are not running. A container
on a host that is down shows as "unknown (AGE)", AGE being how old its last report is; one
its host no longer has shows as "lost". --drift lists instead what hosts run that the
controller does not manage there (never removed by Corral).`;
export const examples = [
  "corral ct list",
  "corral ct ls --host host2",
  "corral ct list --drift",
  "corral ct list --json | jq -r '.[].name'",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["ls", "ps"];
export const flags: FlagSpec[] = [
  { name: "host", kind: "string", value: "HOST", help: "only containers on this host", complete: "hosts" },
  { name: "drift", kind: "boolean", help: "containers hosts run that the controller does not manage" },
];

const DRIFT_HEADERS = ["NAME", "HOST", "BACKEND", "STATE", "SEEN"];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const host = ctx.args.string("host") ?? "";
  if (ctx.args.bool("drift")) {
    const { drift } = await ctx.connection().call((c) => c.listWithDrift(host));
    if (ctx.json) return ctx.printJson(drift.map((d) => ({ name: d.name, host: d.host, backend: d.backend, state: d.state, seenUnixMs: d.lastReportUnixMs })));
    if (drift.length === 0) return ctx.print("no drift: every container the hosts report is managed");
    const now = Date.now();
    for (const l of formatTable(DRIFT_HEADERS, drift.map((d) => [d.name, d.host, d.backend, d.state, `${formatAge(now - d.lastReportUnixMs)} ago`]))) ctx.print(l);
    return;
  }
  const cts = await ctx.connection().call((c) => c.list(host));
  cts.sort((a, b) => a.name.localeCompare(b.name));
  if (ctx.json) return ctx.printJson(cts.map(containerJson));
  const lines = formatTable(CONTAINER_HEADERS, cts.map(containerRow), {
    align: ["left", "left", "left", "left", "left", "right", "right", "right"],
    paint: (cell, raw, col) => (col === 3 ? colourise(ctx.colour, stateColour(raw.split(" ")[0] ?? raw), cell) : cell),
  });
  for (const l of lines) ctx.print(l);
}
