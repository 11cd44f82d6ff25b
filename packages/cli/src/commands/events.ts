import { isoTime, oneLine } from "../present.js";
import { subjectForType, typeOfSubject, type CorralEvent, type EventQuery } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { asUsage, UsageError } from "../usage-error.js";

export const name = "events";
export const synopsis = "Show the cluster's events (from the controller's JetStream stream): replay, filter, follow";
export const help = `Usage: corral events [--follow] [--since SEQ|TIME] [--type T]... [--json]

Replays the events the controller published (hosts registered, down and up; containers
created, started, stopped, removed, limited; migrations started, done, rolled back), oldest
first, each with its stream sequence. --since takes a sequence (42), a time
(2026-11-29T04:00:00Z) or an age (15m, 2h, 1d). --type takes a kind (container) or one event
(container.started) and may be repeated. --follow keeps printing new events until interrupted.
With --json: one JSON array, or with --follow one JSON object a line.`;
export const examples = [
  "corral events",
  "corral events --follow --type container",
  "corral events --since 15m --type migration.done --json",
  "corral events --since 120",
];
const TYPES = ["host", "container", "migration", "container.started", "container.stopped", "migration.done", "migration.rolled_back"];
export const flags: FlagSpec[] = [
  { name: "follow", kind: "boolean", short: "f", help: "keep printing new events until interrupted" },
  { name: "since", kind: "string", value: "SEQ|TIME", help: "start at this stream sequence, time (ISO 8601) or age (15m, 2h, 1d)" },
  { name: "type", kind: "list", value: "T", help: "only events of this kind (container) or type (container.started)", complete: TYPES },
];

const AGE_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "42" → sequence 42; "15m" → 15 minutes ago; an ISO time → that time. */
export function parseSince(text: string | undefined, now = Date.now()): Pick<EventQuery, "sinceSeq" | "sinceUnixMs"> {
  if (text === undefined) return { sinceSeq: 0, sinceUnixMs: 0 };
  if (/^\d+$/.test(text) && Number(text) > 0) return { sinceSeq: Number(text), sinceUnixMs: 0 };
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age) return { sinceSeq: 0, sinceUnixMs: now - Number(age[1]) * (AGE_UNITS[age[2] as string] as number) };
  const t = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) throw new UsageError(`invalid --since "${text}": expected a sequence (42), a time (2026-11-29T04:00:00Z) or an age (15m, 2h, 1d)`);
  return { sinceSeq: 0, sinceUnixMs: t };
}

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const follow = ctx.args.bool("follow");
  const q: EventQuery = { ...parseSince(ctx.args.string("since")), subjects: ctx.args.list("type").map((t) => asUsage(() => subjectForType(t))), follow };
  const client = await ctx.connection().controller();
  const all: CorralEvent[] = [];
  for await (const e of client.watchEvents(q)) {
    if (ctx.json && !follow) all.push(e);
    else if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(eventJson(e))}\n`);
    else ctx.print(eventLine(e));
  }
  if (ctx.json && !follow) ctx.printJson(all.map(eventJson));
}

export const eventJson = (e: CorralEvent) => ({ seq: e.seq, type: typeOfSubject(e.subject), subject: e.subject, at: isoTime(e.atUnixMs), data: e.data });

/** `42  2026-11-29T04:00:00Z  container.started  {"name":"web","host":"host1"}` */
export const eventLine = (e: CorralEvent): string =>
  `${String(e.seq).padStart(6)}  ${e.atUnixMs ? isoTime(e.atUnixMs) : "-".padEnd(20)}  ${typeOfSubject(e.subject).padEnd(22)}  ${oneLine(JSON.stringify(e.data) ?? "")}`;
