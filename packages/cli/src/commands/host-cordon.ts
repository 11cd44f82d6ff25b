import type { Context } from "../command.js";
import { hostJson } from "../present.js";
import { nameArg } from "../flag-values.js";

export const name = "host cordon";
export const synopsis = "Keep new containers off a host (running ones stay)";
export const help = `Usage: corral host cordon HOST [--json]

New containers are no longer placed on HOST; what runs there keeps running.
\`corral host uncordon HOST\` lets placements land on it again.`;
export const examples = [
  "corral host cordon host2",
];

export async function run(ctx: Context): Promise<void> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host cordon HOST)"));
  ctx.args.noMorePositionals(1);
  const h = await ctx.connection().call((c) => c.cordonHost(host));
  if (ctx.json) return ctx.printJson(hostJson(h));
  ctx.print(`${h.name} is ${h.state}`);
}
