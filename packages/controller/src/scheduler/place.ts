// Placement: filter, sample, score, pick. Pure: a snapshot in, a plan (or the reasons none fits) out.
//
// Sampling, as Nomad does: hosts are visited in a seeded shuffle and filtering stops once
// `sampleLimit` (default 20) feasible hosts are found; only those are scored. Up to 20 feasible
// hosts the answer is therefore exact; beyond, the cost stays flat however large the cluster.
// When nothing fits, every host has been visited and each verdict is reported.
import { CorralError } from "@corral/wire";
import { checkHost } from "./filters.js";
import { SCORERS } from "./scorers.js";
import { seededShuffle } from "./seeded-shuffle.js";
import type { HostSnapshot, PlaceOptions, PlacementAsk, Plan, Verdict } from "./types.js";

export const DEFAULT_SAMPLE_LIMIT = 20;

export class NoPlacementError extends CorralError {
  constructor(
    message: string,
    readonly verdicts: Verdict[],
    code: CorralError["code"] = "resource_exhausted",
  ) {
    super(code, message);
  }
}

export function place(hosts: readonly HostSnapshot[], ask: PlacementAsk, opts: PlaceOptions = {}): Plan {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (opts.host !== undefined) return placeOn(hosts, ask, opts.host, seed);
  const limit = Math.max(1, opts.sampleLimit ?? DEFAULT_SAMPLE_LIMIT);
  const ordered = seededShuffle([...hosts].sort((a, b) => a.name.localeCompare(b.name)), seed);
  const verdicts: Verdict[] = [];
  const feasible: HostSnapshot[] = [];
  for (const host of ordered) {
    if (feasible.length >= limit) break;
    const rejection = checkHost(host, ask);
    verdicts.push({ host: host.name, rejection, score: undefined });
    if (!rejection) feasible.push(host);
  }
  if (feasible.length === 0) throw noPlacement(ask, verdicts);
  return pickBest(feasible, ask, verdicts, opts.algorithm ?? "binpack", seed);
}

function pickBest(
  feasible: HostSnapshot[],
  ask: PlacementAsk,
  verdicts: Verdict[],
  algorithm: "binpack" | "spread",
  seed: number,
): Plan {
  const score = SCORERS[algorithm];
  let best: { host: HostSnapshot; score: number } | undefined;
  for (const host of feasible) {
    const s = score(host, ask);
    const v = verdicts.find((x) => x.host === host.name);
    if (v) v.score = s;
    if (!best || s > best.score) best = { host, score: s };
  }
  const chosen = best as { host: HostSnapshot; score: number };
  return {
    host: chosen.host.name,
    reason: `${algorithm} score ${chosen.score.toFixed(3)}, best of ${feasible.length} feasible host(s) scored`,
    seed,
    verdicts,
  };
}

function placeOn(hosts: readonly HostSnapshot[], ask: PlacementAsk, name: string, seed: number): Plan {
  const host = hosts.find((h) => h.name === name);
  if (!host) {
    const known = hosts.map((h) => h.name).sort().join(", ") || "none";
    throw new CorralError("not_found", `host "${name}" not found (known: ${known})`);
  }
  const rejection = checkHost(host, ask);
  const verdicts: Verdict[] = [{ host: name, rejection, score: undefined }];
  if (rejection) {
    throw new NoPlacementError(`cannot place ${ask.name} on ${name}: ${rejection.reason}`, verdicts, rejection.code);
  }
  return { host: name, reason: "requested host", seed, verdicts };
}

function noPlacement(ask: PlacementAsk, verdicts: Verdict[]): NoPlacementError {
  if (verdicts.length === 0) return new NoPlacementError(`no host can run ${ask.name}: no hosts registered`, verdicts);
  const sorted = [...verdicts].sort((a, b) => a.host.localeCompare(b.host));
  const lines = sorted.map((v) => `${v.host}: ${v.rejection?.reason ?? "feasible"}`).join("; ");
  return new NoPlacementError(`no host can run ${ask.name}: ${lines}`, verdicts);
}
