// Shell completion. The shells' scripts are thin: they hand the words typed so far to
// `corral __complete`, which answers from the same command and flag tables the help is made
// from (so completion can never drift from the help), and asks the controller for container and
// host names. This is how cobra (kubectl, docker) completes; it keeps one mechanism in one place.
import type { Completion, FlagSpec } from "./args.js";
import type { CommandModule } from "./command.js";
import { COMMANDS, NOUNS, findCommand, findTopLevel, firstWords, verbWordsOf } from "./commands/index.js";

export type Shell = "bash" | "zsh";
export const SHELLS: readonly Shell[] = ["bash", "zsh"];

export interface Candidate {
  word: string;
  /** Shown beside the word where the shell can (zsh). */
  description?: string;
}

/** What the completer needs besides the tables: live names, and the global flags. */
export interface CompletionSource {
  globalFlags: readonly FlagSpec[];
  names(kind: "containers" | "hosts"): Promise<string[]>;
}

/** Candidates for the last of `words` (the words after `corral`; the last may be ""). */
export async function complete(words: readonly string[], src: CompletionSource): Promise<Candidate[]> {
  const cur = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  const all = (c: CommandModule | undefined) => [...src.globalFlags, ...(c?.flags ?? [])];
  const plain: string[] = [];
  let command: CommandModule | undefined;
  let pendingFlag: FlagSpec | undefined;
  for (const w of before) {
    if (pendingFlag) {
      pendingFlag = undefined;
      continue;
    }
    if (w === "--") return [];
    if (w.startsWith("-")) {
      const spec = all(command).find((f) => `--${f.name}` === w || (f.short !== undefined && `-${f.short}` === w));
      if (spec && spec.kind !== "boolean") pendingFlag = spec;
      continue;
    }
    plain.push(w);
    if (!command) command = plain.length === 1 ? findTopLevel(w) : plain.length === 2 ? findCommand(plain[0] as string, w) : undefined;
  }
  const startsWithCur = (c: Candidate) => c.word.startsWith(cur);
  if (pendingFlag) return (await valuesOf(pendingFlag.complete, src)).filter(startsWithCur);
  if (cur.startsWith("-")) {
    return all(command)
      .map((f) => ({ word: `--${f.name}`, description: f.help }))
      .filter(startsWithCur);
  }
  if (plain.length === 0) {
    return firstWords()
      .map((w) => ({ word: w, description: NOUNS[w] ?? findTopLevel(w)?.synopsis }))
      .filter(startsWithCur);
  }
  if (!command && plain.length === 1 && plain[0] as string in NOUNS) {
    const noun = plain[0] as string;
    return verbWordsOf(noun)
      .map((v) => ({ word: v, description: findCommand(noun, v)?.synopsis }))
      .filter(startsWithCur);
  }
  return command ? (await valuesOf(command.positionals, src)).filter(startsWithCur) : [];
}

async function valuesOf(what: Completion | undefined, src: CompletionSource): Promise<Candidate[]> {
  if (what === undefined) return [];
  const words = typeof what === "string" ? await src.names(what) : what;
  return [...words].sort().map((word) => ({ word }));
}

/** One candidate a line; zsh's lines are `word:description` for _describe. */
export function formatCandidates(cands: readonly Candidate[], shell: Shell): string {
  const lines = cands.map((c) =>
    shell === "zsh" ? `${c.word.replace(/:/g, "\\:")}${c.description ? `:${c.description}` : ""}` : c.word,
  );
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** The script `corral completion SHELL` prints. */
export function completionScript(shell: Shell): string {
  const commands = COMMANDS.filter((c) => !c.hidden).map((c) => c.name).join(", ");
  if (shell === "bash") {
    return `# bash completion for corral (${commands}).
# Load it now with:   source <(corral completion bash)
# or for good with:   corral completion bash > /etc/bash_completion.d/corral
_corral() {
  local IFS=$'\\n'
  COMPREPLY=($(corral __complete --shell bash -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _corral corral
`;
  }
  return `#compdef corral
# zsh completion for corral (${commands}).
# Load it now with:   source <(corral completion zsh)
# or for good with:   corral completion zsh > "\${fpath[1]}/_corral"
_corral() {
  local -a candidates
  candidates=("\${(@f)$(corral __complete --shell zsh -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then
    _describe -t corral 'corral' candidates
  else
    _files
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _corral "$@"
else
  compdef _corral corral
fi
`;
}
