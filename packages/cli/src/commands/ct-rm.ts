import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";

export const name = "ct rm";
export const synopsis = "Remove a container (--force stops it first)";
export const help = `Usage: corral ct rm NAME [--force] [--json]

A running container is only removed with --force, which stops it first.`;
export const positionals = "containers";
export const examples = [
  "corral ct rm web",
  "corral ct rm --force web",
  "corral ct delete web",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["delete"];
export const flags: FlagSpec[] = [{ name: "force", kind: "boolean", help: "stop the container first if it runs", short: "f" }];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct rm NAME)");
  ctx.args.noMorePositionals(1);
  const force = ctx.args.bool("force");
  await ctx.connection().call((cl) => cl.remove(ct, force), WRITE_DEADLINE_MS, `removing ${ct}`);
  if (ctx.json) return ctx.printJson({ name: ct, removed: true });
  ctx.print(`removed ${ct}`);
}
