import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson, limitRows } from "../present.js";
import { limitFlags, limitsFromFlags } from "../flag-values.js";
import { UsageError } from "../usage-error.js";

export const name = "ct set";
export const synopsis = "Change a container's limits (memory, swap, CPU, pids, disk) while it runs";
export const help = `Usage: corral ct set NAME [--memory SIZE] [--swap SIZE] [--cpus N] [--cpu-shares N] [--pids N] [--disk SIZE] [--json]

Applies the new limits live, writes them into the runtime's own config and keeps them for later
starts and migrations. A limit not given keeps its current value. Sizes need a unit (256M, 1G).
--swap is swap on top of --memory. --disk is a quota on the root disk: LXD on a storage pool that
enforces one, and OpenVZ; Docker (overlay2) and LXC (a plain directory) have none and refuse it.`;
export const positionals = "containers";
export const examples = [
  "corral ct set web --memory 512M",
  "corral ct set web --cpus 1.5 --json",
  "corral ct set web --pids 100 --cpu-shares 512",
  "corral ct set web --memory 256M --swap 64M",
];
export const flags: FlagSpec[] = limitFlags();

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct set NAME --memory SIZE --cpus N)");
  ctx.args.noMorePositionals(1);
  const patch = limitsFromFlags(ctx.args);
  if (Object.keys(patch).length === 0) throw new UsageError("nothing to set: pass --memory, --swap, --cpus, --cpu-shares, --pids or --disk");
  // Only what was given goes out; the controller keeps the other limits, under the container's lock.
  const c = await ctx.connection().call((cl) => cl.setLimits(ct, patch), WRITE_DEADLINE_MS, `setting limits of ${ct}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  // Memory and CPUs always; the other limits when set.
  const shown = limitRows(c.spec.limits).filter(([k, v]) => k === "Memory" || k === "CPUs" || (v !== "unlimited" && v !== "default"));
  ctx.print(`${c.name}: ${shown.map(([k, v]) => `${k.toLowerCase()} ${v}`).join(", ")}`);
}
