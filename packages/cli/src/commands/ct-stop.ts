import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson } from "../present.js";
import { UsageError } from "../usage-error.js";

export const name = "ct stop";
export const synopsis = "Stop a container (clean shutdown, then kill after --timeout)";
export const help = `Usage: corral ct stop NAME [--timeout SECONDS] [--json]`;
export const positionals = "containers";
export const examples = [
  "corral ct stop web",
  "corral ct stop web --timeout 5",
];
export const flags: FlagSpec[] = [
  { name: "timeout", kind: "string", value: "SECONDS", help: "wait this long for a clean shutdown before killing (default 30)" },
];

export function timeoutFlag(text: string | undefined): number {
  if (text === undefined) return 30;
  if (!/^\d+$/.test(text) || Number(text) > 3600) throw new UsageError(`invalid timeout "${text}": expected whole seconds from 0 to 3600`);
  return Number(text);
}

/** Long enough for the agent's own timeout plus the controller's bookkeeping. */
export const stopDeadline = (timeoutSeconds: number) => timeoutSeconds * 1000 + WRITE_DEADLINE_MS;

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct stop NAME)");
  ctx.args.noMorePositionals(1);
  const timeout = timeoutFlag(ctx.args.string("timeout"));
  const c = await ctx.connection().call((cl) => cl.stop(ct, timeout), stopDeadline(timeout), `stopping ${ct}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  ctx.print(`stopped ${c.name} on ${c.host} (${c.state})`);
}
