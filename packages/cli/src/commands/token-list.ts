import type { Context } from "../command.js";
import { colourise, formatTable } from "../table.js";
import { TOKEN_HEADERS, stateColour, tokenJson, tokenRow } from "../present.js";

export const name = "token list";
export const synopsis = "List bearer tokens: id, role, state and expiry (never the secrets)";
export const help = `Usage: corral token list [--json]

Every token the controller has issued, revoked and expired ones included. Only admins may
list tokens.`;
export const examples = [
  "corral token list",
  "corral token list --json",
];
/** Verbs people type from habit (docker ps, incus delete). */
export const aliases = ["ls"];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const tokens = await ctx.connection().call((c) => c.listTokens());
  if (ctx.json) return ctx.printJson(tokens.map(tokenJson));
  const lines = formatTable(TOKEN_HEADERS, tokens.map(tokenRow), {
    paint: (cell, raw, col) => (col === 2 ? colourise(ctx.colour, stateColour(raw), cell) : cell),
  });
  for (const l of lines) ctx.print(l);
}
