// "did you mean" for mistyped commands and flags, as git and docker say it.
import { distance } from "fastest-levenshtein";

/**
 * The candidates closest to `typed`: within 2 edits (1 for words of 3 letters or fewer, so that
 * "ct ps" does not suggest every short verb), or those that start with what was typed.
 */
export function closest(typed: string, candidates: readonly string[]): string[] {
  const limit = typed.length <= 3 ? 1 : 2;
  const scored = [...new Set(candidates)]
    .map((c) => ({ c, d: c.startsWith(typed) && typed.length >= 2 ? 0.5 : isSwap(typed, c) ? 1 : distance(typed, c) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const best = scored[0]?.d;
  return scored.filter((x) => x.d === best).map((x) => x.c);
}

/** `; did you mean --memory?` (or `a or b`), each shown by `show`; "" when nothing is close. */
export function didYouMean(typed: string, candidates: readonly string[], show: (c: string) => string = (c) => c): string {
  const found = closest(typed, candidates);
  return found.length ? `; did you mean ${found.map(show).join(" or ")}?` : "";
}

/** "wbe" for "web": two neighbours swapped, the commonest slip, counts as one edit (Damerau). */
function isSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff = [...a].flatMap((ch, i) => (ch === b[i] ? [] : [i]));
  return diff.length === 2 && diff[1] === (diff[0] as number) + 1 && a[diff[0] as number] === b[diff[1] as number] && a[diff[1] as number] === b[diff[0] as number];
}
