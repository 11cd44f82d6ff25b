import type { Context } from "../command.js";
import { hostJson } from "../present.js";
import { nameArg } from "../flag-values.js";

export const name = "host uncordon";
export const synopsis = "Let new containers land on a cordoned host again";
export const help = `Usage: corral host uncordon HOST [--json]

Makes a cordoned HOST ready for new placements again.`;
export const examples = [
  "corral host uncordon host2",
];

export async function run(ctx: Context): Promise<void> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host uncordon HOST)"));
  ctx.args.noMorePositionals(1);
  const h = await ctx.connection().call((c) => c.uncordonHost(host));
  if (ctx.json) return ctx.printJson(hostJson(h));
  ctx.print(`${h.name} is ${h.state}`);
}
