import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { envFlag } from "../flag-values.js";
import { runExec } from "../exec-session.js";

export const name = "ct shell";
export const synopsis = "Open a login shell in a container, as vzctl enter does";
export const help = `Usage: corral ct shell NAME [--env K=V]...

Opens the container's login shell (root's shell from its /etc/passwd, else bash, else sh) on
a terminal: the local one goes into raw mode and its size follows. Leave with exit or
Ctrl-D; corral exits with the shell's exit code. With stdin not a terminal, the shell reads
its commands from stdin, with no terminal.`;
export const positionals = "containers";
export const examples = ["corral ct shell web", "echo 'uname -a' | corral ct shell web"];
export const flags: FlagSpec[] = [{ name: "env", kind: "list", value: "K=V", help: "extra environment variable for the shell" }];

export async function run(ctx: Context): Promise<number> {
  const ct = ctx.args.positional(0, "container name (corral ct shell NAME)");
  ctx.args.noMorePositionals(1);
  const env = ctx.args.list("env").map(envFlag);
  const terminal = ctx.io.stdin?.isTTY === true;
  return runExec(ctx, ct, [], env, { interactive: true, tty: terminal, login: true });
}
