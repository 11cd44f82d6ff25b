import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { UsageError } from "../usage-error.js";
import { writeAll } from "../exec-session.js";

export const name = "ct logs";
export const synopsis = "Print a container's log (Docker's logs, the console log of LXC, LXD and OpenVZ)";
export const help = `Usage: corral ct logs NAME [--tail N] [--follow]

Prints what the container's runtime logged for it: a Docker container's stdout and stderr, the
console of an LXC, LXD or OpenVZ container. --tail N prints only the last N lines; --follow
keeps printing what is added until interrupted.`;
export const positionals = "containers";
export const examples = ["corral ct logs web", "corral ct logs web --tail 20", "corral ct logs api --follow --tail 0"];
export const flags: FlagSpec[] = [
  { name: "follow", kind: "boolean", short: "f", help: "keep printing new output until interrupted" },
  { name: "tail", kind: "string", value: "N", help: "only the last N lines (default: all)" },
];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct logs NAME)");
  ctx.args.noMorePositionals(1);
  const tailText = ctx.args.string("tail");
  if (tailText !== undefined && !/^\d{1,9}$/.test(tailText)) throw new UsageError(`invalid --tail "${tailText}": expected a number of lines`);
  const tail = tailText === undefined ? -1 : Number(tailText);
  const client = await ctx.connection().controller();
  for await (const data of client.logs(ct, { follow: ctx.args.bool("follow"), tail })) {
    await writeAll(ctx.io.stdout, data);
  }
}
