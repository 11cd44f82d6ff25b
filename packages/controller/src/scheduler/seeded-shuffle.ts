// The PRNG is mulberry32 from wire, so a placement can be replayed from its seed.
import { mulberry32 } from "@corral/wire";

export { mulberry32 };

/** Fisher-Yates over a copy. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
