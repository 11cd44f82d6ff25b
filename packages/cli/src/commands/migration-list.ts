import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { colourise, formatTable } from "../table.js";
import { MIGRATION_HEADERS, migrationRow, stateColour } from "../present.js";

export const name = "migration list";
export const synopsis = "List migrations, newest last, with their phase, size and downtime";
export const help = `Usage: corral migration list [--container NAME] [--json]`;
export const examples = [
  "corral migration list",
  "corral migration list --container web --json",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["ls"];
export const flags: FlagSpec[] = [{ name: "container", kind: "string", value: "NAME", help: "only migrations of this container", complete: "containers" }];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const container = ctx.args.string("container") ?? "";
  const ms = await ctx.connection().call((c) => c.listMigrations(container));
  ms.sort((a, b) => a.startedUnixMs - b.startedUnixMs);
  if (ctx.json) return ctx.printJson(ms);
  const lines = formatTable(MIGRATION_HEADERS, ms.map(migrationRow), {
    align: ["left", "left", "left", "left", "left", "right", "right", "right", "left", "left"],
    paint: (cell, raw, col) => (col === 4 ? colourise(ctx.colour, stateColour(raw), cell) : cell),
  });
  for (const l of lines) ctx.print(l);
}
