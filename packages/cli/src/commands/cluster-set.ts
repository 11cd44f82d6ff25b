import type { Context } from "../command.js";
import { UsageError } from "../usage-error.js";

export const name = "cluster set";
export const synopsis = "Set a cluster-wide setting (strategy=binpack|spread)";
export const help = `Usage: corral cluster set key=value...

Settings:
  strategy=binpack|spread   how the scheduler places containers that do not ask for a strategy`;
export const examples = [
  "corral cluster set strategy=spread",
];

export async function run(ctx: Context): Promise<void> {
  const pairs = ctx.args.positionals;
  if (pairs.length === 0) throw new UsageError("missing key=value (such as strategy=spread)");
  const parsed = pairs.map((p) => {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid setting "${p}": expected key=value`);
    return [p.slice(0, eq), p.slice(eq + 1)] as const;
  });
  for (const [k, v] of parsed) {
    await ctx.connection().call((c) => c.setClusterSetting(k, v));
    if (!ctx.json) ctx.print(`${k}=${v}`);
  }
  if (ctx.json) ctx.printJson(Object.fromEntries(parsed));
}
