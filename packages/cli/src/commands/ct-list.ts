import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { colourise, formatTable } from "../table.js";
import { CONTAINER_HEADERS, containerJson, containerRow, stateColour } from "../present.js";

export const name = "ct list";
export const synopsis = "List containers on all hosts, with live CPU, memory and pids";
export const help = `Usage: corral ct list [--host HOST] [--json]

Lists every container the controller manages. CPU%, MEMORY and PIDS come from the
hosts' latest usage reports and show "-" for containers that are not running.`;
export const examples = [
  "corral ct list",
  "corral ct ls --host host2",
  "corral ct list --json | jq -r '.[].name'",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["ls", "ps"];
export const flags: FlagSpec[] = [{ name: "host", kind: "string", value: "HOST", help: "only containers on this host", complete: "hosts" }];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const host = ctx.args.string("host") ?? "";
  const cts = await ctx.connection().call((c) => c.list(host));
  cts.sort((a, b) => a.name.localeCompare(b.name));
  if (ctx.json) return ctx.printJson(cts.map(containerJson));
  const lines = formatTable(CONTAINER_HEADERS, cts.map(containerRow), {
    align: ["left", "left", "left", "left", "right", "right", "right"],
    paint: (cell, raw, col) => (col === 3 ? colourise(ctx.colour, stateColour(raw), cell) : cell),
  });
  for (const l of lines) ctx.print(l);
}
