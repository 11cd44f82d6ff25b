import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { roleFlag, ttlFlag } from "../flag-values.js";
import { isoTime } from "../present.js";
import { UsageError } from "../usage-error.js";

export const name = "token create";
export const synopsis = "Create a bearer token for a person (admin or read-only); it is shown once";
export const help = `Usage: corral token create --role admin|read-only [--ttl DURATION] [--json]

Prints the new token alone on its last line. The controller keeps only its hash, so it
cannot be shown again: store it now (CORRAL_TOKEN, or "token" in the config file).
read-only may list and show; admin may do everything, including managing tokens.

Examples:
  corral token create --role read-only --ttl 30d
  corral token create --role admin --json`;
export const examples = [
  "corral token create --role read-only --ttl 30d",
  "corral token create --role admin",
];

export const flags: FlagSpec[] = [
  { name: "role", kind: "string", value: "ROLE", help: "admin or read-only (required)", complete: ["admin", "read-only"] },
  { name: "ttl", kind: "string", value: "DURATION", help: "expire after this long: 90s, 15m, 12h, 30d, 2w (default: never)" },
];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const roleText = ctx.args.string("role");
  if (roleText === undefined) throw new UsageError("missing --role (admin or read-only)");
  const role = roleFlag(roleText);
  const ttlText = ctx.args.string("ttl");
  const ttlSeconds = ttlText === undefined ? 0 : ttlFlag(ttlText);
  const { info, token } = await ctx.connection().call((c) => c.createToken(role, ttlSeconds));
  const expiresAt = info.expiresUnixMs ? isoTime(info.expiresUnixMs) : null;
  if (ctx.json) return ctx.printJson({ id: info.id, token, role: info.role, expiresAt });
  ctx.print(`created ${info.role} token ${info.id}, ${expiresAt ? `expires ${expiresAt}` : "never expires"}; it is shown only once:`);
  ctx.print(token);
}
