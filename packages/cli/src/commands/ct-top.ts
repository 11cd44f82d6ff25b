import type { Context } from "../command.js";
import { formatTable } from "../table.js";
import { trimNumber } from "../present.js";

export const name = "ct top";
export const synopsis = "List a container's processes: host and inside PIDs, users, CPU time, command";
export const help = `Usage: corral ct top NAME [--json]

Read from the container's cgroup on its host, for every backend. HOST PID is the PID on the
host (what ps there shows); PID is the PID inside the container. USER is the user inside (from
the container's /etc/passwd) and UID the uid it maps to on the host. TIME is CPU seconds.
The JSON is an array of { hostPid, pid, user, hostUid, cpuSeconds, command }.`;
export const positionals = "containers";
export const examples = ["corral ct top web", "corral ct top web --json | jq '.[] | .hostPid'"];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct top NAME)");
  ctx.args.noMorePositionals(1);
  const procs = await ctx.connection().call((c) => c.listProcesses(ct));
  if (ctx.json) return ctx.printJson(procs);
  const rows = procs.map((p) => [String(p.hostPid), String(p.pid), p.user, String(p.hostUid), trimNumber(p.cpuSeconds), p.command]);
  for (const l of formatTable(["HOST PID", "PID", "USER", "UID", "TIME", "COMMAND"], rows, { align: ["right", "right", "left", "right", "right", "left"] })) ctx.print(l);
}
