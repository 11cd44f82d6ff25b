import type { Context } from "../command.js";
import { hostJson, labelsText } from "../present.js";
import { UsageError } from "../usage-error.js";
import { nameArg } from "../flag-values.js";

export const name = "host unlabel";
export const synopsis = "Remove labels from a host";
export const help = `Usage: corral host unlabel HOST key... [--json]

Removes the labels named by key from HOST. Naming a label the host does not have fails
and changes nothing.`;
export const examples = [
  "corral host unlabel host1 zone",
];

export async function run(ctx: Context): Promise<void> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host unlabel HOST key...)"));
  const keys = ctx.args.positionals.slice(1);
  if (keys.length === 0) throw new UsageError("missing key: which labels should be removed?");
  const h = await ctx.connection().call((c) => c.labelHost(host, {}, keys));
  if (ctx.json) return ctx.printJson(hostJson(h));
  ctx.print(`${h.name}: ${labelsText(h.labels)}`);
}
