// A small argument parser: `--x value`, `--x=value`, booleans, repeated list flags, `-h`,
// and `--` after which everything is passed through untouched (exec argv).
import { didYouMean } from "./did-you-mean.js";
import { UsageError } from "./usage-error.js";

export type FlagKind = "string" | "boolean" | "list";

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  /** Placeholder shown in help, e.g. SIZE. */
  value?: string;
  help: string;
  short?: string;
  /** What the value names, for shell completion. */
  complete?: Completion;
}

/** Live names from the controller, or a fixed list of words. */
export type Completion = "containers" | "hosts" | readonly string[];

export interface ParseOptions {
  /**
   * When argv holds no `--`, stop reading flags after this many positionals and keep the rest
   * as passthrough, so `corral ct exec c1 ls -l` works as `docker exec` does.
   */
  restAfterPositionals?: number;
}

export class Args {
  constructor(
    private readonly values: ReadonlyMap<string, string | boolean | string[]>,
    readonly positionals: readonly string[],
    /** Tokens after `--` (or after the positional cut-off); undefined when there were none. */
    readonly rest: readonly string[] | undefined,
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }
  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === "string" ? v : undefined;
  }
  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? [...v] : [];
  }
  /** The i-th positional, or a usage error naming what is missing. */
  positional(i: number, label: string): string {
    const v = this.positionals[i];
    if (v === undefined || v === "") throw new UsageError(`missing ${label}`);
    return v;
  }
  /** Rejects positionals beyond the `max` the command takes. */
  noMorePositionals(max: number): void {
    const extra = this.positionals[max];
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  }
}

const BOOL_WORDS: Record<string, boolean> = { true: true, "1": true, yes: true, false: false, "0": false, no: false };

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], opts: ParseOptions = {}): Args {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const values = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  let rest: string[] | undefined;
  const cutAt = argv.includes("--") ? undefined : opts.restAfterPositionals;

  const set = (spec: FlagSpec, raw: string | undefined, shown: string) => {
    if (spec.kind === "boolean") {
      if (raw === undefined) return void values.set(spec.name, true);
      const b = BOOL_WORDS[raw.toLowerCase()];
      if (b === undefined) throw new UsageError(`flag ${shown} takes no value or true/false, not "${raw}"`);
      values.set(spec.name, b);
    } else if (raw === undefined) {
      throw new UsageError(`flag ${shown} needs a value`);
    } else if (spec.kind === "list") {
      const prev = values.get(spec.name);
      values.set(spec.name, [...(Array.isArray(prev) ? prev : []), raw]);
    } else {
      values.set(spec.name, raw);
    }
  };
  // A value may start with "-" ("-1") but not look like another long flag.
  const takeValue = (i: number): string | undefined => {
    const next = argv[i + 1];
    return next === undefined || (next.startsWith("--") && next.length > 2) ? undefined : next;
  };

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (cutAt !== undefined && positionals.length >= cutAt) {
      rest = argv.slice(i);
      break;
    }
    if (tok === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    if (tok.startsWith("--")) {
      const eq = tok.indexOf("=");
      const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag --${name}${didYouMean(name, [...byName.keys()], (c) => `--${c}`)}`);
      if (eq >= 0) set(spec, tok.slice(eq + 1), `--${name}`);
      else if (spec.kind === "boolean") set(spec, undefined, `--${name}`);
      else {
        const v = takeValue(i);
        set(spec, v, `--${name}`);
        i++;
      }
    } else if (tok.length > 1 && tok.startsWith("-") && !/^-\d/.test(tok)) {
      const short = tok.slice(1, 2);
      const spec = byShort.get(short);
      if (!spec) throw new UsageError(`unknown flag ${tok}`);
      // Bundled boolean short flags, as docker takes them: `-it` is `-i -t`.
      const bundle = [...tok.slice(1)].map((c) => byShort.get(c));
      if (tok.length > 2 && bundle.every((s) => s?.kind === "boolean")) {
        for (const [j, s] of bundle.entries()) set(s as FlagSpec, undefined, `-${tok[j + 1]}`);
        continue;
      }
      const attached = tok.length > 2 ? tok.slice(2).replace(/^=/, "") : undefined;
      if (spec.kind === "boolean" || attached !== undefined) set(spec, attached, `-${short}`);
      else {
        set(spec, takeValue(i), `-${short}`);
        i++;
      }
    } else {
      positionals.push(tok);
    }
  }
  return new Args(values, positionals, rest);
}

/** Help lines for flags, aligned: `  --memory SIZE   memory limit (default 256M)`. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string[] {
  const heads = specs.map((s) => {
    const long = `--${s.name}${s.kind === "boolean" ? "" : ` ${s.value ?? "VALUE"}`}`;
    return s.short ? `-${s.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(0, ...heads.map((h) => h.length));
  return specs.map((s, i) => `  ${(heads[i] as string).padEnd(width)}   ${s.help}${s.kind === "list" ? " (repeatable)" : ""}`);
}
