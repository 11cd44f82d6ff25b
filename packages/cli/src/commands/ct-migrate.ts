import { CorralError, parseCompression, type MigrationUpdate } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { ProgressReporter } from "../progress.js";
import { migrationSummary, oneLine } from "../present.js";
import { UsageError, asUsage } from "../usage-error.js";

export const name = "ct migrate";
export const synopsis = "Move a container to another host, with a progress bar";
export const help = `Usage: corral ct migrate NAME --to HOST [--compression none|zstd] [--json]

Stops the container, streams its state directly from its host to HOST, verifies it,
starts it there and removes the source copy. Any failure rolls back: the container runs
on its old host again. Progress goes to stderr; exit code 0 only when the container runs
on HOST. With --json, prints the final migration record.`;
export const positionals = "containers";
export const examples = [
  "corral ct migrate web --to host3",
  "corral ct migrate web --to host3 --compression zstd",
];
export const flags: FlagSpec[] = [
  { name: "to", kind: "string", value: "HOST", help: "target host (required)", complete: "hosts" },
  { name: "compression", kind: "string", value: "none|zstd", help: "compress the archive on the link (default none)", complete: ["none", "zstd"] },
];

export async function run(ctx: Context): Promise<number> {
  const ct = ctx.args.positional(0, "container name (corral ct migrate NAME --to HOST)");
  ctx.args.noMorePositionals(1);
  const to = ctx.args.string("to");
  if (!to) throw new UsageError("missing --to HOST: which host should the container move to?");
  const compression = asUsage(() => parseCompression(ctx.args.string("compression") ?? "none"));
  const client = await ctx.connection().controller();
  const stderr = ctx.io.stderr;
  const progress = new ProgressReporter({
    write: (s) => stderr.write(s),
    isTTY: stderr.isTTY === true,
    columns: stderr.columns || 80,
  });
  const started = Date.now();
  let last: MigrationUpdate | undefined;
  try {
    for await (const u of client.migrate(ct, to, compression)) {
      last = u;
      progress.update(u);
    }
  } finally {
    progress.finish();
  }
  if (!last) throw new CorralError("internal", `migration of ${ct} ended before the controller reported any progress`);
  const m = last.migration;
  if (ctx.json) ctx.printJson(m);
  if (m.phase === "done") {
    if (!ctx.json) ctx.print(migrationSummary(m, Date.now() - started));
    return 0;
  }
  const why = m.error ? oneLine(m.error) : `migration of ${ct} to ${to} ended in phase ${m.phase}`;
  throw new CorralError("aborted", m.phase === "rolled_back" && m.error ? `${why} (rolled back: ${ct} runs on ${m.sourceHost})` : why);
}
