import type { Context } from "../command.js";
import { UsageError } from "../usage-error.js";

export const name = "host pid";
export const synopsis = "Name the container that owns a PID of a host";
export const help = `Usage: corral host pid HOST PID [--json]

Read from the PID's cgroup membership on that host, for every backend (as OpenVZ's envID
in /proc/PID/status tells). Prints the container, its backend and the PID inside it; exits
non-zero when no container Corral manages there owns the PID.
The JSON is { container, host, backend, pid }, where pid is the PID inside the container.`;
export const positionals = "hosts";
export const examples = ["corral host pid host1 12345", "corral host pid host1 12345 --json | jq -r .container"];

export async function run(ctx: Context): Promise<void> {
  const host = ctx.args.positional(0, "host name (corral host pid HOST PID)");
  const raw = ctx.args.positional(1, "PID on that host (corral host pid HOST PID)");
  ctx.args.noMorePositionals(2);
  if (!/^[1-9]\d{0,9}$/.test(raw) || Number(raw) > 0xffffffff) throw new UsageError(`PID must be a positive integer, not "${raw}"`);
  const owner = await ctx.connection().call((c) => c.findPidOwner(host, Number(raw)));
  if (ctx.json) return ctx.printJson(owner);
  ctx.print(`${owner.container} (${owner.backend} on ${owner.host}), PID ${owner.pid} inside`);
}
