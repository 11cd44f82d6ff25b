import type { Context } from "../command.js";
import { hostJson, labelsText } from "../present.js";
import { UsageError } from "../usage-error.js";
import { labelFlag, nameArg } from "../flag-values.js";

export const name = "host label";
export const synopsis = "Set labels on a host (for --constraint)";
export const help = `Usage: corral host label HOST key=value... [--json]

Sets (or replaces) labels on HOST. \`corral ct create --constraint key=value\` places
only on hosts with that label; \`key!=value\` only on hosts without it.`;
export const examples = [
  "corral host label host1 zone=eu disk=ssd",
];

export async function run(ctx: Context): Promise<void> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host label HOST key=value...)"));
  const pairs = ctx.args.positionals.slice(1);
  if (pairs.length === 0) throw new UsageError("missing key=value: which labels should the host get?");
  const set = Object.fromEntries(pairs.map(labelFlag));
  const h = await ctx.connection().call((c) => c.labelHost(host, set, []));
  if (ctx.json) return ctx.printJson(hostJson(h));
  ctx.print(`${h.name}: ${labelsText(h.labels)}`);
}

