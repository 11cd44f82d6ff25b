import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { countFlag, nameArg } from "../flag-values.js";
import { reportMoves } from "./host-drain.js";

export const name = "host restore";
export const synopsis = "End a drain: make a host ready and move back what was drained from it";
export const help = `Usage: corral host restore HOST [--parallel N] [--json]

Makes HOST ready again and migrates back every container that \`corral host drain\` moved
off it, as \`incus cluster restore\` does. Prints a line per container, then a report.`;
export const examples = [
  "corral host restore host1",
];
export const flags: FlagSpec[] = [{ name: "parallel", kind: "string", value: "N", help: "migrations at once (default 1, at most 16)" }];

export async function run(ctx: Context): Promise<number> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host restore HOST)"));
  ctx.args.noMorePositionals(1);
  const parallel = countFlag("parallel", ctx.args.string("parallel") ?? "1", 16);
  const client = await ctx.connection().controller();
  return reportMoves(ctx, `restore of ${host}`, client.restoreHost(host, parallel));
}
