import { notFound } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { formatTable } from "../table.js";
import { STATS_ALIGN, STATS_HEADERS, statsOf, statsRow, type StatsJson } from "../stats.js";
import { didYouMean } from "../did-you-mean.js";
import { UsageError } from "../usage-error.js";

export const name = "ct stats";
export const synopsis = "Live CPU, memory, network, block I/O and pids of containers, cluster-wide (like docker stats)";
export const help = `Usage: corral ct stats [NAME...] [--host HOST] [--follow] [--json]

One table for the whole cluster, with docker stats' columns, from the usage each host last
reported. Without NAMEs it shows the running containers; named ones are shown whatever their
state. --follow redraws the table in place every --interval on a terminal (elsewhere it prints
one table, or one JSON document a line, per round) until interrupted.`;
export const examples = [
  "corral ct stats",
  "corral ct stats web api --follow",
  "corral ct stats --host host2 --json | jq '.[] | {name, cpuPercent}'",
];
export const positionals = "containers";
export const flags: FlagSpec[] = [
  { name: "host", kind: "string", value: "HOST", help: "only containers on this host", complete: "hosts" },
  { name: "follow", kind: "boolean", short: "f", help: "keep redrawing until interrupted" },
  { name: "interval", kind: "string", value: "SECONDS", help: "seconds between rounds with --follow (default 2)" },
];

export async function run(ctx: Context): Promise<void> {
  const names = ctx.args.positionals;
  const host = ctx.args.string("host") ?? "";
  const interval = intervalFlag(ctx.args.string("interval"));
  const follow = ctx.args.bool("follow");
  const redraw = follow && ctx.io.stdout.isTTY === true && !ctx.json;
  for (;;) {
    const stats = await sample(ctx, names, host);
    if (ctx.json) {
      // One document; with --follow one per line (NDJSON), so a reader can take them as they come.
      ctx.io.stdout.write(follow ? `${JSON.stringify(stats)}\n` : `${JSON.stringify(stats, null, 2)}\n`);
    } else {
      const lines = formatTable(STATS_HEADERS, stats.map(statsRow), { align: STATS_ALIGN });
      // On a terminal: home the cursor and clear, as docker stats and top do.
      ctx.io.stdout.write(`${redraw ? "\x1b[H\x1b[2J" : ""}${lines.join("\n")}\n`);
    }
    if (!follow) return;
    await new Promise((r) => setTimeout(r, interval * 1000));
    if (!redraw && !ctx.json) ctx.io.stdout.write("\n");
  }
}

async function sample(ctx: Context, names: readonly string[], host: string): Promise<StatsJson[]> {
  const cts = await ctx.connection().call((c) => c.list(host));
  if (!names.length) return cts.filter((c) => c.state === "running").sort((a, b) => a.name.localeCompare(b.name)).map(statsOf);
  return names.map((n) => {
    const c = cts.find((x) => x.name === n);
    if (!c) {
      const where = host ? ` on host "${host}"` : "";
      throw notFound(`container "${n}" not found${where}${didYouMean(n, cts.map((x) => x.name), (x) => `"${x}"`)}`);
    }
    return statsOf(c);
  });
}

function intervalFlag(text: string | undefined): number {
  if (text === undefined) return 2;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n < 0.2 || n > 3600) {
    throw new UsageError(`invalid --interval "${text}": expected seconds between 0.2 and 3600`);
  }
  return n;
}
