import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { durationFlag } from "../flag-values.js";

export const name = "host join-token";
export const synopsis = "Print a one-use, expiring token that lets a new host join";
export const help = `Usage: corral host join-token [--ttl 1h] [--json]

The token is used once, by one host, before it expires. It also pins the cluster CA (its sha256),
so the new host checks the controller before it sends anything. Start the host's agent with
  corral-agent --join TOKEN --controller ADDR --name NAME ...
It stores its key and certificate in its state directory and later starts need no token.`;
export const examples = [
  "corral host join-token",
  "corral host join-token --ttl 30m",
];
export const flags: FlagSpec[] = [{ name: "ttl", kind: "string", value: "DURATION", help: "how long the token stays valid: 30m, 1h (default), 2d; at most 7d" }];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const ttl = ctx.args.string("ttl");
  const ttlMs = ttl === undefined ? 3_600_000 : durationFlag("--ttl", ttl) * 1000;
  const t = await ctx.connection().call((c) => c.createJoinToken(Math.ceil(ttlMs / 1000)));
  if (ctx.json) return ctx.printJson({ token: t.token, expiresAt: new Date(t.expiresUnixMs).toISOString() });
  ctx.print(t.token);
}
