import type { Context, OutStream } from "../command.js";
import type { FlagSpec } from "../args.js";
import { envFlag } from "../flag-values.js";
import { UsageError } from "../usage-error.js";
import { CorralError } from "@corral/wire";

export const name = "ct exec";
export const synopsis = "Run a command in a container; its output streams through and its exit code is ours";
export const help = `Usage: corral ct exec NAME [--env K=V]... -- CMD [ARGS...]

Runs CMD inside the container (not interactive: no TTY, no stdin). Output is passed
through byte for byte as it arrives, and corral exits with the command's exit code.
With --json, prints {"exitCode":N,"stdout":"…","stderr":"…"} once the command ends.`;
export const positionals = "containers";
export const examples = [
  "corral ct exec web -- sh -c 'uname -a'",
  "corral ct exec web --env MODE=debug -- env",
  "corral ct exec --json web -- cat /etc/hostname",
];
export const flags: FlagSpec[] = [{ name: "env", kind: "list", value: "K=V", help: "extra environment variable for the command" }];
// `corral ct exec c1 ls -l` works like `docker exec`: after NAME, everything is the command.
export const parse = { restAfterPositionals: 1 };

export async function run(ctx: Context): Promise<number> {
  const ct = ctx.args.positional(0, "container name (corral ct exec NAME -- CMD ARGS...)");
  const argv = [...(ctx.args.rest ?? [])];
  if (argv[0] === "--") argv.shift();
  if (!argv.length) throw new UsageError("missing command: corral ct exec NAME -- CMD ARGS...");
  const env = ctx.args.list("env").map(envFlag);
  const client = await ctx.connection().controller();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exitCode: number | undefined;
  for await (const o of client.exec(ct, argv, env)) {
    if (o.kind === "exit") exitCode = o.code;
    else if (ctx.json) (o.kind === "stdout" ? out : err).push(o.data);
    else await writeAll(o.kind === "stdout" ? ctx.io.stdout : ctx.io.stderr, o.data);
  }
  if (exitCode === undefined) throw new CorralError("internal", `exec in ${ct} ended without an exit code`);
  if (ctx.json) {
    ctx.printJson({ exitCode, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
  }
  return exitCode;
}

export async function writeAll(stream: OutStream, data: Buffer): Promise<void> {
  if (!stream.write(data)) await new Promise<void>((resolve) => stream.once("drain", resolve));
}
