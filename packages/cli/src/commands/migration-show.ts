import { CorralError, type Migration, type MigrationUpdate } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { ProgressReporter, followHint, setInterruptNote } from "../progress.js";
import { conversionLines, formatSeconds, isoTime, oneLine } from "../present.js";

export const name = "migration show";
export const synopsis = "Show one migration with its downtime split; --follow watches it to its end";
export const help = `Usage: corral migration show ID [--follow] [--json]

Shows a migration: hosts, phase, bytes, and its downtime split into the stop, the final
sync (for a cold move, the whole copy) and the start. With --follow, re-attaches to a
migration under way with the same progress bar as \`ct migrate\`, until it ends; exit
code 0 only when it is done. --json prints the migration record (downtimeMs, stopMs,
finalSyncMs, startMs among its fields).`;
export const examples = [
  "corral migration show m-4f2a9c1b7e3d",
  "corral migration show m-4f2a9c1b7e3d --follow",
];
export const flags: FlagSpec[] = [{ name: "follow", kind: "boolean", help: "watch it until it ends", short: "f" }];

export async function run(ctx: Context): Promise<number> {
  const id = ctx.args.positional(0, "migration id (corral migration show ID; ids are in corral migration list)");
  ctx.args.noMorePositionals(1);
  const follow = ctx.args.bool("follow");
  const client = await ctx.connection().controller();
  if (follow) {
    setInterruptNote(`stopped watching; migration ${id} continues on the controller. Follow it: ${followHint(id)}`);
    const m = await watchToEnd(ctx, client.watchMigration(id, true));
    if (ctx.json) ctx.printJson(m);
    else for (const l of describe(m)) ctx.print(l);
    return 0;
  }
  let m: Migration | undefined;
  for await (const u of client.watchMigration(id, false)) m = u.migration;
  if (!m) throw new CorralError("internal", `the controller answered nothing for migration ${id}`);
  if (ctx.json) ctx.printJson(m);
  else for (const l of describe(m)) ctx.print(l);
  return m.phase === "rolled_back" ? 1 : 0;
}

/**
 * Draws the progress of a migration stream on stderr until it ends; resolves with the done
 * migration, throws an aborted error naming the host to blame otherwise. onId hears the id first.
 */
export async function watchToEnd(ctx: Context, updates: AsyncIterable<MigrationUpdate>, onId?: (id: string) => void): Promise<Migration> {
  const stderr = ctx.io.stderr;
  const progress = new ProgressReporter({ write: (s) => stderr.write(s), isTTY: stderr.isTTY === true, columns: stderr.columns || 80 });
  let last: MigrationUpdate | undefined;
  try {
    for await (const u of updates) {
      if (!last && u.migration.id) onId?.(u.migration.id);
      last = u;
      progress.update(u);
    }
  } catch (err) {
    progress.finish();
    throw blamed(err, last?.migration);
  } finally {
    progress.finish();
    setInterruptNote(undefined);
  }
  if (!last) throw new CorralError("internal", "the migration ended before the controller reported any progress");
  const m = last.migration;
  if (m.phase === "done") return m;
  const why = m.error ? oneLine(m.error) : `migration of ${m.container} to ${m.targetHost} ended in phase ${m.phase}`;
  throw new CorralError("aborted", m.phase === "rolled_back" && m.error ? `${why} (rolled back: ${m.container} runs on ${m.sourceHost})` : why);
}

/** The controller's rolled-back error; the failed host is added when the stream told us which. */
function blamed(err: unknown, m: Migration | undefined): unknown {
  if (!(err instanceof CorralError) || !m?.failedHost) return err;
  return new CorralError(err.code, `${err.message} [failed host: ${m.failedHost}]`, { cause: err });
}

export function describe(m: Migration): string[] {
  const lines = [
    `id:          ${m.id}`,
    `container:   ${m.container}`,
    `move:        ${m.sourceHost} → ${m.targetHost}${m.compression !== "none" ? ` (compression ${m.compression})` : ""}`,
    `phase:       ${m.phase}`,
    ...(m.precopy ? [`pre-copy:    ${m.precopyPasses} live pass${m.precopyPasses === 1 ? "" : "es"} while it ran, then a final one stopped`] : []),
    `bytes:       ${m.bytes}${m.totalBytes ? ` of ${m.totalIsEstimate ? "~" : ""}${Math.max(m.totalBytes, m.bytes)}` : ""}`,
    `started:     ${m.startedUnixMs ? isoTime(m.startedUnixMs) : "-"}`,
    `finished:    ${m.finishedUnixMs ? isoTime(m.finishedUnixMs) : "-"}`,
  ];
  if (!m.wasRunning) lines.push("downtime:    none (the container was stopped and stays stopped)");
  else {
    lines.push(
      `downtime:    ${m.downtimeMs ? formatSeconds(m.downtimeMs) : "-"}` +
        (m.downtimeMs ? ` (stop ${formatSeconds(m.stopMs)}, final sync ${formatSeconds(m.finalSyncMs)}, start ${formatSeconds(m.startMs)})` : ""),
    );
  }
  lines.push(`stop timeout: ${m.stopTimeoutSeconds} s`);
  if (m.conversion) lines.push(...conversionLines(m.conversion));
  if (m.sourceKept) lines.push(`source:      kept stopped on ${m.sourceHost}; remove it with corral migration finish ${m.id}`);
  if (m.error) lines.push(`error:       ${oneLine(m.error)}`);
  if (m.failedHost) lines.push(`failed host: ${m.failedHost}`);
  return lines;
}
