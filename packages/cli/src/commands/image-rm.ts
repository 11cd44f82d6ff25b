import type { Context } from "../command.js";
import { WRITE_DEADLINE_MS } from "../connection.js";

export const name = "image rm";
export const synopsis = "Remove an image from every host; refused while a container uses it";
export const help = `Usage: corral image rm NAME [--json]

Removes the image from every host and backend that holds it. Refused, changing nothing, while
any container was created from it (remove those first).`;
export const examples = ["corral image rm app:1"];
export const aliases = ["delete"];

export async function run(ctx: Context): Promise<void> {
  const image = ctx.args.positional(0, "image name (corral image rm NAME)");
  ctx.args.noMorePositionals(1);
  const removed = await ctx.connection().call((c) => c.removeImage(image), WRITE_DEADLINE_MS);
  if (ctx.json) return ctx.printJson(removed);
  for (const r of removed) ctx.print(`${r.host}: removed ${r.name} (${r.backend})`);
}
