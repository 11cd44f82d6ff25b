import { formatBytes } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson, trimNumber } from "../present.js";
import { cpusFlag, memoryFlag } from "../flag-values.js";
import { UsageError } from "../usage-error.js";

export const name = "ct set";
export const synopsis = "Change a container's memory and CPU limits while it runs";
export const help = `Usage: corral ct set NAME [--memory SIZE] [--cpus N] [--json]

Applies the new limits live and keeps them for later starts and migrations. A limit not
given keeps its current value.`;
export const positionals = "containers";
export const examples = [
  "corral ct set web --memory 512M",
  "corral ct set web --cpus 1.5 --json",
];
export const flags: FlagSpec[] = [
  { name: "memory", kind: "string", value: "SIZE", help: "new memory limit such as 512M or 1G" },
  { name: "cpus", kind: "string", value: "N", help: "new CPU limit such as 2 or 0.5" },
];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct set NAME --memory SIZE --cpus N)");
  ctx.args.noMorePositionals(1);
  const mem = ctx.args.string("memory");
  const cpus = ctx.args.string("cpus");
  const memoryBytes = mem === undefined ? undefined : memoryFlag(mem);
  const cpuCount = cpus === undefined ? undefined : cpusFlag(cpus);
  if (memoryBytes === undefined && cpuCount === undefined) throw new UsageError("nothing to set: pass --memory and/or --cpus");
  // Only what was given goes out; the controller keeps the other limit, under the container's lock.
  const c = await ctx.connection().call((cl) => cl.setLimits(ct, { memoryBytes, cpus: cpuCount }), WRITE_DEADLINE_MS, `setting limits of ${ct}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  const l = c.spec.limits;
  ctx.print(`${c.name}: memory ${l.memoryBytes ? formatBytes(l.memoryBytes) : "unlimited"}, cpus ${l.cpus ? trimNumber(l.cpus) : "unlimited"}`);
}
