import type { Context } from "../command.js";

export const name = "migration finish";
export const synopsis = "Remove the source copy a --keep-source migration kept";
export const help = `Usage: corral migration finish ID [--json]

A migration run with --keep-source leaves the stopped source on its old host once the
container runs on the new one. This removes it; the migration must be done.`;
export const examples = [
  "corral migration finish m-4f2a9c1b7e3d",
];

export async function run(ctx: Context): Promise<void> {
  const id = ctx.args.positional(0, "migration id (corral migration finish ID)");
  ctx.args.noMorePositionals(1);
  const m = await ctx.connection().call((c) => c.finishMigration(id));
  if (ctx.json) return ctx.printJson(m);
  ctx.print(`removed the kept copy of ${m.container} on ${m.sourceHost}; migration ${m.id} is finished`);
}
