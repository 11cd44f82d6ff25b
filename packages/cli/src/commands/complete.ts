// The helper the completion scripts call: `corral __complete --shell bash -- WORDS...`.
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { GLOBAL_FLAGS } from "../global-flags.js";
import { SHELLS, complete, formatCandidates, type Shell } from "../completion.js";

export const name = "__complete";
export const hidden = true;
export const synopsis = "Complete the words after `corral` (used by the completion scripts)";
export const help = `Usage: corral __complete [--shell bash|zsh] -- WORD... ''`;
export const examples = ["corral __complete -- ct show ''"];
export const flags: FlagSpec[] = [{ name: "shell", kind: "string", value: "SHELL", help: "bash (default) or zsh", complete: SHELLS }];

/** A completion that waits on a slow controller is worse than none. */
const NAMES_DEADLINE_MS = 2_000;

export async function run(ctx: Context): Promise<void> {
  const shell = (SHELLS.find((s) => s === ctx.args.string("shell")) ?? "bash") as Shell;
  const words = ctx.args.rest ?? [];
  const cands = await complete(words, {
    globalFlags: GLOBAL_FLAGS,
    names: async (kind) => {
      try {
        const conn = ctx.connection();
        return kind === "hosts"
          ? (await conn.call((c) => c.listHosts(), NAMES_DEADLINE_MS)).map((h) => h.name)
          : (await conn.call((c) => c.list(), NAMES_DEADLINE_MS)).map((c) => c.name);
      } catch {
        return []; // no controller: complete what needs none
      }
    },
  });
  ctx.io.stdout.write(formatCandidates(cands, shell));
}
