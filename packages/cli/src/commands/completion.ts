import type { Context } from "../command.js";
import { SHELLS, completionScript, type Shell } from "../completion.js";
import { UsageError } from "../usage-error.js";

export const name = "completion";
export const synopsis = "Print the shell completion script for bash or zsh";
export const help = `Usage: corral completion bash|zsh

Prints a script that makes the shell complete corral's commands, flags, and the names of
containers and hosts (asked from the controller as you press Tab).`;
export const examples = [
  "source <(corral completion bash)",
  "corral completion bash > /etc/bash_completion.d/corral",
  'corral completion zsh > "${fpath[1]}/_corral"',
];
export const positionals = SHELLS;

export async function run(ctx: Context): Promise<void> {
  const shell = ctx.args.positional(0, "shell (corral completion bash|zsh)");
  ctx.args.noMorePositionals(1);
  if (!SHELLS.includes(shell as Shell)) throw new UsageError(`unknown shell "${shell}": expected ${SHELLS.join(" or ")}`);
  ctx.io.stdout.write(completionScript(shell as Shell));
}
