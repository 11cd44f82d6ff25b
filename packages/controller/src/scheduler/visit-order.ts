// The order in which placement visits hosts, from a seed: a random start and a random stride
// coprime with the host count, so every host is visited once and different seeds interleave
// differently. O(1) to set up, unlike a shuffle (21 % of placement time at 5,000 hosts) or a sort.
// The PRNG is wire's mulberry32, so a placement can be replayed from its seed.
import { mulberry32 } from "@corral/wire";

/** Start index and stride over `n` items; index k is visited at step (start + k·stride) mod n. */
export function visitOrder(n: number, seed: number): { start: number; stride: number } {
  if (n <= 1) return { start: 0, stride: 1 };
  const rand = mulberry32(seed);
  const start = Math.floor(rand() * n);
  let stride = 1 + Math.floor(rand() * (n - 1));
  while (gcd(stride, n) !== 1) stride = stride === n - 1 ? 1 : stride + 1;
  return { start, stride };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
