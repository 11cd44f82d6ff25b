// The controller's side of placement: turn a request into an ask, run the pure scheduler over the
// in-memory state, and record the plan (container row, reservation, seed and strategy) with group
// commit. Create, dry-run explain, drain and the scheduler bench all go through here.
import { alreadyExists, invalidArgument, type ContainerSpec, type DesiredState, type PlacementExplanation, type PlacementOptions } from "@corral/wire";
import type { Store } from "../store/store.js";
import { insertContainer, type PlacementRecord } from "../store/containers.js";
import { reservePlacement } from "../store/reservations.js";
import { chooseContainerAddress, holdContainerAddress } from "../network/addresses.js";
import type { NetworkSettings } from "../network/pool.js";
import { portsOf } from "../store/cluster-state.js";
import { getSetting } from "../store/settings.js";
import { ALGORITHMS, NoPlacementError, parseConstraint, place, type Algorithm, type HostSnapshot, type PlacementAsk, type Plan } from "../scheduler/index.js";

/** What placement needs of the controller: its store and its scheduler settings. */
export interface PlacementContext {
  store: Store;
  settings: { algorithm: Algorithm; schedulerSeed: number | undefined };
  /** The container network: a placed container gets its address in the same transaction. */
  network?: NetworkSettings | undefined;
}

export interface PlacementRequest extends PlacementOptions {
  spec: ContainerSpec;
  /** Only this host; empty: let the scheduler choose. */
  host?: string;
  /** Replay a stored decision: the same seed over the same state gives the same plan. */
  seed?: number;
  /** Visit every host and keep each verdict (the choice stays the same). */
  explain?: boolean;
}

export function strategyOf(ctx: PlacementContext, requested: string | undefined): Algorithm {
  const s = requested || getSetting(ctx.store.db, "strategy") || ctx.settings.algorithm;
  if (!(ALGORITHMS as readonly string[]).includes(s)) {
    throw invalidArgument(`strategy "${s}" is not one of ${ALGORITHMS.join(", ")}`);
  }
  return s as Algorithm;
}

export function askOf(req: PlacementRequest): PlacementAsk {
  const group = req.antiAffinity ?? "";
  if (group && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(group)) {
    throw invalidArgument(`anti-affinity group "${group}" must be letters, digits, . _ - (at most 63)`);
  }
  return {
    name: req.spec.name,
    backend: req.spec.backend,
    memoryBytes: req.spec.limits.memoryBytes,
    cpus: req.spec.limits.cpus,
    diskBytes: req.spec.limits.diskBytes ?? 0,
    constraints: (req.constraints ?? []).map(parseConstraint),
    antiAffinity: group || undefined,
    ports: req.spec.ports.length ? portsOf(req.spec) : undefined,
  };
}

/** Validates the request before anything is written; throws invalid_argument with the reason. */
export function validatePlacement(ctx: PlacementContext, req: PlacementRequest): void {
  strategyOf(ctx, req.strategy);
  askOf(req);
}

/** Runs the scheduler over the in-memory state; pure with respect to the store. */
export function planFor(ctx: PlacementContext, req: PlacementRequest, ask = askOf(req)): Plan {
  const narrowed = !req.explain && !req.host ? labelledHosts(ctx.store, ask) : undefined;
  const opts = {
    sorted: true,
    algorithm: strategyOf(ctx, req.strategy),
    seed: req.seed ?? ctx.settings.schedulerSeed,
    host: req.host || undefined,
    explain: req.explain,
    verdicts: req.explain === true,
    // Aligned with every host (below), not with a narrowed list.
    room: narrowed ? undefined : ctx.store.state.room(),
  };
  // An ask with key=value can only land on hosts so labelled: visit those alone (the same seed over
  // the same state still gives the same plan). When none fits, every host is visited below, so that
  // the error names each one's filter.
  if (narrowed) {
    try {
      return place(narrowed, ask, opts);
    } catch (err) {
      if (!(err instanceof NoPlacementError)) throw err;
    }
  }
  return place(ctx.store.state.hosts(), ask, narrowed ? { ...opts, room: ctx.store.state.room() } : opts);
}

/** The hosts carrying the ask's first key=value constraint, or undefined when it has none. */
function labelledHosts(store: Store, ask: PlacementAsk): readonly HostSnapshot[] | undefined {
  const c = ask.constraints?.find((x) => x.op === "=");
  return c ? store.state.hostsLabelled(c.key, c.value) : undefined;
}

/** The verdict of every host, and the host that would be chosen; nothing changes. */
export function explainPlacement(ctx: PlacementContext, req: PlacementRequest): PlacementExplanation {
  const strategy = strategyOf(ctx, req.strategy);
  try {
    const plan = planFor(ctx, { ...req, explain: true });
    return { host: plan.host, strategy, seed: plan.seed, verdicts: sortVerdicts(plan.verdicts) };
  } catch (err) {
    if (!(err instanceof NoPlacementError)) throw err;
    return { host: null, strategy, seed: req.seed ?? ctx.settings.schedulerSeed ?? 0, verdicts: sortVerdicts(err.verdicts) };
  }
}

const sortVerdicts = <T extends { host: string }>(v: T[]): T[] => [...v].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));

/**
 * Places and records in one group-committed transaction: the plan is made inside it, against the
 * state that includes every placement before it, so two concurrent creates never overcommit a host.
 * Its address is allocated in the same transaction, so two concurrent creates never share one either.
 * Resolves once the row, the reservation and the address are durable, with the spec as recorded.
 */
export function placeAndRecord(ctx: PlacementContext, req: PlacementRequest, desired: DesiredState): Promise<Plan & { spec: ContainerSpec }> {
  const ask = askOf(req);
  return ctx.store.grouped.run(() => {
    const plan = planFor(ctx, req, ask);
    const record: PlacementRecord = {
      seed: plan.seed,
      strategy: plan.algorithm,
      constraints: req.constraints ?? [],
      antiAffinity: ask.antiAffinity ?? "",
    };
    // Chosen before any write, so this change stays atomic (see below); the port filter kept hosts
    // where another container publishes one of its ports out of the plan.
    const spec = chooseContainerAddress(ctx.store.db, ctx.network, req.spec);
    try {
      insertContainer(ctx.store.db, spec, plan.host, desired, Date.now(), record);
    } catch (err) {
      // Two creates of one name in the same batch: the second is told so, not given SQLite's words.
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw alreadyExists(`container "${req.spec.name}" already exists`, err);
      }
      throw err;
    }
    reservePlacement(ctx.store.db, plan.host, req.spec.name, req.spec.limits);
    holdContainerAddress(ctx.store.db, spec);
    return { ...plan, spec };
    // Atomic: place() and the address choice throw before any write; the insert fails (name taken) as one statement.
  }, { atomic: true });
}
