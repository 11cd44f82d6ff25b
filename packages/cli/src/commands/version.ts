import type { Context } from "../command.js";
import { messageOf } from "@corral/wire";
import { cliVersion } from "../version.js";

export const name = "version";
export const synopsis = "Print the versions of this CLI and of the controller it talks to";
export const help = `Usage: corral version [--json]

Prints the CLI's version, then asks the controller for its own. When the controller cannot
be reached the CLI's version is still printed, the controller's line says why, and the exit
code is 1.`;
export const examples = ["corral version", "corral version --json"];

export async function run(ctx: Context): Promise<number> {
  ctx.args.noMorePositionals(0);
  const client = cliVersion();
  let controller: string | undefined;
  let error: string | undefined;
  try {
    controller = await ctx.connection().call((c) => c.getVersion());
  } catch (err) {
    error = messageOf(err);
  }
  if (ctx.json) ctx.printJson({ client, controller: controller ?? null, ...(error ? { error } : {}) });
  else {
    ctx.print(`client:     corral ${client}`);
    ctx.print(`controller: ${controller ?? `unknown (${error ?? ""})`}`);
  }
  return error === undefined ? 0 : 1;
}
