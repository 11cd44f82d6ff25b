// Placement: filter, sample, score, pick. Pure: a snapshot in, a plan (or the reasons none fits) out.
//
// Sampling, as Nomad's LimitIterator does: hosts are visited from a seeded start with a seeded
// stride (visit-order.ts), and filtering stops once `sampleLimit` (default 20) feasible hosts are
// found; only those are scored. Up to 20 feasible hosts the answer is therefore exact; beyond, the
// cost stays flat however large the cluster. The plan's verdicts are those of the hosts scored; when
// nothing fits, or when asked to explain, every host is visited and each one's verdict is reported
// (explaining never changes the choice).
import { CorralError } from "@corral/wire";
import { checkHost, fits } from "./filters.js";
import { SCORERS } from "./scorers.js";
import { visitOrder } from "./visit-order.js";
import type { Algorithm, HostSnapshot, PlaceOptions, PlacementAsk, Plan, Rejection, Verdict } from "./types.js";

export const DEFAULT_SAMPLE_LIMIT = 20;
/** Up to this many hosts, the "nothing fits" message names each with its reason. */
const MAX_HOSTS_IN_MESSAGE = 20;

/** Nothing fits. Carries every verdict, so that callers can print the table rather than one line. */
export class NoPlacementError extends CorralError {
  constructor(
    message: string,
    readonly verdicts: Verdict[],
    code: CorralError["code"] = "resource_exhausted",
  ) {
    super(code, message, { details: { verdicts } });
  }
}

export interface PlaceInput {
  /** The hosts are already in name order (the in-memory state keeps them so); skips the sort. */
  sorted?: boolean;
  /** Each host's room, aligned with `hosts` (sorted): see HostRoom. */
  room?: HostRoom | undefined;
}

/**
 * The memory and CPUs each host can still take, by its position in the (sorted) host list, as fits()
 * computes them (memoryRoom, cpuRoom). Placement reads these packed numbers first and skips a host that is too
 * full without reading the host itself. On a filled cluster most visited hosts are full, and reading
 * each one (its object and the boxed numbers in it, scattered over the heap) was most of placement's
 * time at 1M containers (cache misses); 5,000 hosts' room is 80 KB that stays in cache. The skip
 * gives exactly fits()'s verdict on those hosts, so the plan is the same.
 */
export interface HostRoom {
  memory: Float64Array;
  cpus: Float64Array;
}

export function place(hosts: readonly HostSnapshot[], ask: PlacementAsk, opts: PlaceOptions & PlaceInput = {}): Plan {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  const algorithm = opts.algorithm ?? "binpack";
  if (opts.host !== undefined) return placeOn(hosts, ask, opts.host, seed, algorithm);
  // The visiting order depends on the seed and on the hosts, never on the order they were given in.
  const ordered = opts.sorted ? hosts : [...hosts].sort(byName);
  const limit = Math.max(1, opts.sampleLimit ?? DEFAULT_SAMPLE_LIMIT);
  const score = SCORERS[algorithm];
  const n = ordered.length;
  const { start, stride } = visitOrder(n, seed);
  const explain = opts.explain === true;
  const keep = explain || opts.verdicts !== false;
  const verdicts: Verdict[] = [];
  let feasible = 0;
  // Two variables, not an object per better host: placement runs a million times a minute.
  let best: HostSnapshot | undefined;
  let bestScore = 0;
  // Only over the hosts it was built for, and not when explaining (every verdict needs its words).
  const room = !explain && opts.sorted && opts.room?.memory.length === n ? opts.room : undefined;
  const memory = ask.memoryBytes;
  const cpus = ask.cpus;
  for (let k = 0, i = start; k < n; k++, i = (i + stride) % n) {
    if (feasible >= limit && !explain) break;
    if (room && ((memory > 0 && memory > (room.memory[i] as number)) || (cpus > 0 && cpus > (room.cpus[i] as number)))) continue;
    const host = ordered[i] as HostSnapshot;
    // Reasons are words built per host; only an explanation (or the error below) needs them.
    if (!fits(host, ask)) {
      if (explain) {
        const r = checkHost(host, ask) as Rejection;
        verdicts.push({ host: host.name, filter: r.filter, reason: r.reason, score: null });
      }
      continue;
    }
    const s = score(host, ask);
    if (keep) verdicts.push({ host: host.name, filter: null, reason: "", score: s });
    if (feasible < limit && (!best || s > bestScore)) {
      best = host;
      bestScore = s;
    }
    feasible++;
  }
  // Nothing fits: visit again, explaining, so that the error names every host's filter.
  if (!best && !explain) return place(ordered, ask, { ...opts, sorted: true, seed, explain: true });
  if (!best) throw noPlacement(ask, verdicts);
  const scored = Math.min(feasible, limit);
  return {
    host: best.name,
    reason: `${algorithm} score ${bestScore.toFixed(3)}, best of ${scored} feasible host(s) scored`,
    seed,
    algorithm,
    verdicts,
  };
}

const byName = (a: HostSnapshot, b: HostSnapshot) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function placeOn(hosts: readonly HostSnapshot[], ask: PlacementAsk, name: string, seed: number, algorithm: Algorithm): Plan {
  const host = hosts.find((h) => h.name === name);
  if (!host) {
    const known = hosts.map((h) => h.name).sort().join(", ") || "none";
    throw new CorralError("not_found", `host "${name}" not found (known: ${known})`);
  }
  const rejection = checkHost(host, ask);
  if (rejection) {
    const verdicts = [{ host: name, filter: rejection.filter, reason: rejection.reason, score: null }];
    throw new NoPlacementError(`cannot place ${ask.name} on ${name}: ${rejection.reason}`, verdicts, rejection.code);
  }
  const s = SCORERS[algorithm](host, ask);
  return { host: name, reason: "requested host", seed, algorithm, verdicts: [{ host: name, filter: null, reason: "", score: s }] };
}

function noPlacement(ask: PlacementAsk, verdicts: Verdict[]): NoPlacementError {
  if (verdicts.length === 0) return new NoPlacementError(`no host can run ${ask.name}: no hosts registered`, verdicts);
  const sorted = [...verdicts].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  if (sorted.length <= MAX_HOSTS_IN_MESSAGE) {
    const lines = sorted.map((v) => `${v.host}: ${v.reason}`).join("; ");
    return new NoPlacementError(`no host can run ${ask.name}: ${lines}`, sorted);
  }
  // A large cluster: one line cannot name every host; count them by filter (the verdicts have all).
  const counts = new Map<string, number>();
  for (const v of sorted) counts.set(v.filter ?? "feasible", (counts.get(v.filter ?? "feasible") ?? 0) + 1);
  const byFilter = [...counts].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} ${n}`).join(", ");
  const first = sorted.slice(0, 3).map((v) => `${v.host}: ${v.reason}`).join("; ");
  return new NoPlacementError(`no host can run ${ask.name}: ${sorted.length} hosts rejected (${byFilter}); ${first}; …`, sorted);
}
