import { CorralError, type HostMoveProgress } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { countFlag, durationFlag, nameArg } from "../flag-values.js";
import { formatTable } from "../table.js";

export const name = "host drain";
export const synopsis = "Move every container off a host (maintenance), honouring constraints";
export const help = `Usage: corral host drain HOST [--parallel N] [--deadline 10m] [--json]

Marks HOST draining (no new placements) and migrates each of its containers to a host the
scheduler picks with the container's own constraints and anti-affinity. Prints a line per
container as it moves, then a report of what moved and what could not. HOST stays draining
until it is empty, then it is drained. \`corral host restore HOST\` moves them back.`;
export const examples = [
  "corral host drain host1",
  "corral host drain host1 --parallel 2 --deadline 10m",
];
export const flags: FlagSpec[] = [
  { name: "parallel", kind: "string", value: "N", help: "migrations at once (default 1, at most 16)" },
  { name: "deadline", kind: "string", value: "DURATION", help: "start no new move after this long (such as 10m)" },
];

export async function run(ctx: Context): Promise<number> {
  const host = nameArg("host", ctx.args.positional(0, "host name (corral host drain HOST)"));
  ctx.args.noMorePositionals(1);
  const parallel = countFlag("parallel", ctx.args.string("parallel") ?? "1", 16);
  const deadline = ctx.args.has("deadline") ? durationFlag("--deadline", ctx.args.string("deadline") as string) : 0;
  const client = await ctx.connection().controller();
  return reportMoves(ctx, `drain of ${host}`, client.drainHost(host, parallel, deadline));
}

/** Shared by drain and restore: a line per step on stderr, then the report (or JSON) on stdout. */
export async function reportMoves(ctx: Context, what: string, lines: AsyncIterable<HostMoveProgress>): Promise<number> {
  const final = new Map<string, HostMoveProgress>();
  let hostState = "";
  for await (const p of lines) {
    if (p.done) {
      hostState = p.hostState;
      continue;
    }
    final.set(p.container, p);
    if (!ctx.json) {
      const detail = p.status === "failed" ? `: ${p.error}` : p.targetHost ? ` → ${p.targetHost}` : "";
      ctx.io.stderr.write(`${p.container}: ${p.status}${detail}\n`);
    }
  }
  const all = [...final.values()];
  const failed = all.filter((p) => p.status !== "moved");
  if (ctx.json) {
    ctx.printJson({
      hostState,
      moved: all.filter((p) => p.status === "moved").map((p) => ({ container: p.container, host: p.targetHost, migration: p.migration?.id ?? null })),
      failed: failed.map((p) => ({ container: p.container, error: p.error })),
    });
  } else {
    const rows = all.map((p) => [p.container, p.status, p.targetHost, p.error]);
    if (rows.length) for (const l of formatTable(["CONTAINER", "RESULT", "HOST", "ERROR"], rows)) ctx.print(l);
    ctx.print(`${what}: ${all.length - failed.length} moved, ${failed.length} could not; host is ${hostState || "unknown"}`);
  }
  if (failed.length) throw new CorralError("aborted", `${what}: ${failed.length} container(s) could not move: ${failed.map((p) => p.container).join(", ")}`);
  return 0;
}
