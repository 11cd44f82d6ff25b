import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson } from "../present.js";
import { stopDeadline, timeoutFlag } from "./ct-stop.js";

export const name = "ct restart";
export const synopsis = "Stop a container, then start it again";
export const help = `Usage: corral ct restart NAME [--timeout SECONDS] [--json]`;
export const positionals = "containers";
export const examples = [
  "corral ct restart web",
  "corral ct restart web --timeout 5",
];
export const flags: FlagSpec[] = [
  { name: "timeout", kind: "string", value: "SECONDS", help: "wait this long for a clean shutdown before killing (default 30)" },
];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct restart NAME)");
  ctx.args.noMorePositionals(1);
  const timeout = timeoutFlag(ctx.args.string("timeout"));
  const conn = ctx.connection();
  const current = await conn.call((cl) => cl.get(ct));
  // A stopped container only needs the start.
  if (current.state !== "stopped") await conn.call((cl) => cl.stop(ct, timeout), stopDeadline(timeout), `stopping ${ct}`);
  const c = await conn.call((cl) => cl.start(ct), WRITE_DEADLINE_MS, `starting ${ct}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  ctx.print(`restarted ${c.name} on ${c.host} (${c.state})`);
}
