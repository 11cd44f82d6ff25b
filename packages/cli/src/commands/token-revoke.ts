import type { Context } from "../command.js";
import { isoTime, tokenJson } from "../present.js";

export const name = "token revoke";
export const synopsis = "Revoke a bearer token by its id; calls made with it are refused from now on";
export const help = `Usage: corral token revoke ID [--json]

ID is the id \`corral token list\` shows. Revoking a revoked token changes nothing. The last
active admin token cannot be revoked: create another admin token first.`;
export const examples = [
  "corral token revoke 3f9a12bc7d01",
];

export async function run(ctx: Context): Promise<void> {
  const id = ctx.args.positional(0, "token id (corral token revoke ID)");
  ctx.args.noMorePositionals(1);
  const info = await ctx.connection().call((c) => c.revokeToken(id));
  if (ctx.json) return ctx.printJson(tokenJson(info));
  ctx.print(`token ${info.id} (${info.role}) revoked at ${isoTime(info.revokedUnixMs)}`);
}
