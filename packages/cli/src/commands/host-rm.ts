import type { Context } from "../command.js";
import { WRITE_DEADLINE_MS } from "../connection.js";

export const name = "host rm";
export const synopsis = "Remove a host that is down and holds no containers, and revoke its certificate";
export const help = `Usage: corral host rm HOST [--json]

Only a host that is down (its agent stopped) and holds no containers can be removed; the error
names what is left. Its certificate is revoked: neither the host nor anyone holding its key can
register or report again. A new host by that name joins with a new token.`;
export const examples = [
  "corral host rm host4",
];

export async function run(ctx: Context): Promise<void> {
  const host = ctx.args.positional(0, "host name (corral host rm HOST)");
  ctx.args.noMorePositionals(1);
  const serial = await ctx.connection().call((c) => c.removeHost(host), WRITE_DEADLINE_MS);
  if (ctx.json) return ctx.printJson({ name: host, removed: true, revokedSerial: serial || null });
  ctx.print(serial ? `removed ${host}; certificate ${serial} revoked` : `removed ${host} (no certificate on record)`);
}
