import type { Context } from "../command.js";
import { colourise, formatTable } from "../table.js";
import { HOST_HEADERS, hostJson, hostRow, stateColour } from "../present.js";

export const name = "host list";
export const synopsis = "List the hosts the controller knows, with capacity and reservations";
export const help = `Usage: corral host list [--json]

Shows every registered host: its address, state (ready, cordoned, draining, down), the
backends that work there, its size, what is reserved on it and how many containers it runs.`;
export const examples = [
  "corral host list",
  "corral host list --json | jq -r '.[] | select(.state==\"ready\") | .name'",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["ls"];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const hosts = await ctx.connection().call((c) => c.listHosts());
  hosts.sort((a, b) => a.name.localeCompare(b.name));
  if (ctx.json) return ctx.printJson(hosts.map(hostJson));
  const lines = formatTable(HOST_HEADERS, hosts.map(hostRow), {
    align: ["left", "left", "left", "left", "right", "right", "left", "right", "left"],
    paint: (cell, raw, col) => (col === 2 ? colourise(ctx.colour, stateColour(raw), cell) : cell),
  });
  for (const l of lines) ctx.print(l);
}
