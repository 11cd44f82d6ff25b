import type { Context } from "../command.js";
import { hostJson } from "../present.js";
import { UsageError } from "../usage-error.js";
import { nameArg } from "../flag-values.js";

export const name = "host set";
export const synopsis = "Set a host's scheduling setting (overcommit=RATIO)";
export const help = `Usage: corral host set HOST key=value... [--json]

Settings:
  overcommit=RATIO   placement fills the host's memory, CPUs and disk up to capacity × RATIO
                     (default 1.0: never beyond capacity; 1.5 lets it promise 150 %;
                     0.8 keeps a fifth free). Lowering it moves nothing that is placed.`;
export const examples = [
  "corral host set host1 overcommit=1.5",
];

const SETTINGS = ["overcommit"];

export async function run(ctx: Context): Promise<void> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host set HOST key=value...)"));
  const pairs = ctx.args.positionals.slice(1);
  if (pairs.length === 0) throw new UsageError("missing key=value (such as overcommit=1.5)");
  let ratio: number | undefined;
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid setting "${p}": expected key=value`);
    const [key, value] = [p.slice(0, eq), p.slice(eq + 1)];
    if (!SETTINGS.includes(key)) throw new UsageError(`unknown host setting "${key}" (settings: ${SETTINGS.join(", ")})`);
    // Number("") is 0 and Number("1.5x") NaN: only a plain decimal is a ratio.
    if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`overcommit "${value}" must be a positive ratio such as 1.5`);
    ratio = Number(value);
  }
  const h = await ctx.connection().call((c) => c.setHostOvercommit(host, ratio as number));
  if (ctx.json) return ctx.printJson(hostJson(h));
  ctx.print(`${h.name}: overcommit=${String(h.overcommit)}`);
}
