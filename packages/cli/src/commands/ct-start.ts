import type { Context } from "../command.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson } from "../present.js";

export const name = "ct start";
export const synopsis = "Start a stopped container";
export const help = `Usage: corral ct start NAME [--json]`;
export const positionals = "containers";
export const examples = [
  "corral ct start web",
];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct start NAME)");
  ctx.args.noMorePositionals(1);
  const c = await ctx.connection().call((cl) => cl.start(ct), WRITE_DEADLINE_MS, `starting ${ct}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  ctx.print(`started ${c.name} on ${c.host} (${c.state})`);
}
