import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { envFlag } from "../flag-values.js";
import { UsageError } from "../usage-error.js";
import { runExec } from "../exec-session.js";

export const name = "ct exec";
export const synopsis = "Run a command in a container; its output streams through and its exit code is ours";
export const help = `Usage: corral ct exec [-i] [-t] NAME [--env K=V]... -- CMD [ARGS...]

Runs CMD inside the container. Piped stdin is forwarded (and its end reaches CMD as EOF);
a terminal's only with -i. Output is passed through byte for byte as it arrives, and
corral exits with the command's exit code. -t runs CMD on a terminal of its own: with -i
(-it) the local terminal is in raw mode, so every key, Ctrl-C too, goes to CMD, and a
resize of the local window reaches it. With --json, prints {"exitCode":N,"stdout":"…","stderr":"…"}
once the command ends.`;
export const positionals = "containers";
export const examples = [
  "corral ct exec web -- sh -c 'uname -a'",
  "echo hello | corral ct exec web -- cat",
  "corral ct exec web --env MODE=debug -- env",
  "corral ct exec --json web -- cat /etc/hostname",
];
export const flags: FlagSpec[] = [
  { name: "interactive", short: "i", kind: "boolean", help: "forward stdin even when it is a terminal" },
  { name: "tty", short: "t", kind: "boolean", help: "run the command on a terminal (raw mode, window size, Ctrl-C inside)" },
  { name: "env", kind: "list", value: "K=V", help: "extra environment variable for the command" },
];
// `corral ct exec c1 ls -l` works like `docker exec`: after NAME, everything is the command.
export const parse = { restAfterPositionals: 1 };

export async function run(ctx: Context): Promise<number> {
  const ct = ctx.args.positional(0, "container name (corral ct exec NAME -- CMD ARGS...)");
  const argv = [...(ctx.args.rest ?? [])];
  if (argv[0] === "--") argv.shift();
  if (!argv.length) throw new UsageError("missing command: corral ct exec NAME -- CMD ARGS...");
  const env = ctx.args.list("env").map(envFlag);
  return runExec(ctx, ct, argv, env, { interactive: ctx.args.bool("interactive"), tty: ctx.args.bool("tty"), login: false });
}
