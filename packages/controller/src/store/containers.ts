// Containers: where each lives, what it should be and what it was last seen to be.
import type { BackendName, Container, ContainerSpec, ContainerState, ContainerUsage, DesiredState } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { portsOf, stateOf } from "./cluster-state.js";

/** How a container was placed, stored with it so that the decision can be replayed. */
export interface PlacementRecord {
  seed: number;
  strategy: string;
  constraints: string[];
  /** At most one member of this group per host; empty for none. */
  antiAffinity: string;
}

interface ContainerRow {
  name: string;
  host: string;
  backend: BackendName;
  spec: string;
  desired_state: DesiredState;
  actual_state: ContainerState;
  usage: string | null;
  created_ms: number;
  updated_ms: number;
  last_report_ms: number;
}

function toContainer(db: Db, r: ContainerRow): Container {
  return {
    name: r.name,
    host: r.host,
    backend: r.backend,
    state: r.actual_state,
    desiredState: r.desired_state,
    spec: JSON.parse(r.spec) as ContainerSpec,
    // Usage lives in memory (reports are not state); the column holds what older controllers wrote.
    usage: stateOf(db).usageOf(r.name) ?? (r.usage ? (JSON.parse(r.usage) as ContainerUsage) : undefined),
    createdUnixMs: r.created_ms,
    // Reports live in memory; the column keeps what older controllers wrote.
    lastReportUnixMs: stateOf(db).lastReportOf(r.name) ?? r.last_report_ms,
  };
}

export function getContainer(db: Db, name: string): Container | undefined {
  const row = stmt(db, "SELECT * FROM containers WHERE name = ?").get(name) as ContainerRow | undefined;
  return row ? toContainer(db, row) : undefined;
}

export function listContainers(db: Db, host = ""): Container[] {
  // By host: the names from memory, each row by its key (there is no index by host: schema.ts).
  const rows = host
    ? stateOf(db).containersOn(host).map((name) => stmt(db, "SELECT * FROM containers WHERE name = ?").get(name))
    : stmt(db, "SELECT * FROM containers ORDER BY name").all();
  return (rows as (ContainerRow | undefined)[]).filter((r) => r !== undefined).map((r) => toContainer(db, r));
}

export function insertContainer(
  db: Db,
  spec: ContainerSpec,
  host: string,
  desired: DesiredState,
  now: number,
  placement?: PlacementRecord,
): void {
  stmt(
    db,
    `INSERT INTO containers (name, host, backend, spec, desired_state, actual_state, created_ms, updated_ms, placement)
     VALUES (?, ?, ?, ?, ?, 'creating', ?, ?, ?)`,
  ).run(spec.name, host, spec.backend, JSON.stringify(spec), desired, now, now, JSON.stringify(placement ?? {}));
  stateOf(db).addContainer(spec.name, host, placement?.antiAffinity ?? "", "creating", desired, now, portsOf(spec));
}

/** The placement record of a container, or undefined when it was placed before they were kept. */
export function placementOf(db: Db, name: string): PlacementRecord | undefined {
  const row = stmt(db, "SELECT placement FROM containers WHERE name = ?").get(name) as { placement: string } | undefined;
  const p = row ? (JSON.parse(row.placement) as Partial<PlacementRecord>) : undefined;
  return p && typeof p.seed === "number" ? (p as PlacementRecord) : undefined;
}

export function deleteContainer(db: Db, name: string): void {
  stmt(db, "DELETE FROM containers WHERE name = ?").run(name);
  stateOf(db).removeContainer(name);
}

export function setContainerState(db: Db, name: string, actual: ContainerState, desired?: DesiredState): void {
  stmt(
    db,
    "UPDATE containers SET actual_state = ?, desired_state = COALESCE(?, desired_state), updated_ms = ? WHERE name = ?",
  ).run(actual, desired ?? null, Date.now(), name);
  stateOf(db).setContainerState(name, actual, desired);
}

export function setContainerSpec(db: Db, name: string, spec: ContainerSpec): void {
  stmt(db, "UPDATE containers SET spec = ?, updated_ms = ? WHERE name = ?").run(JSON.stringify(spec), Date.now(), name);
  stateOf(db).setContainerPorts(name, portsOf(spec));
}

export function setContainerHost(db: Db, name: string, host: string): void {
  stmt(db, "UPDATE containers SET host = ?, updated_ms = ? WHERE name = ?").run(host, Date.now(), name);
  stateOf(db).moveContainer(name, host);
}

/** A move that converted the container (ct migrate --backend): its backend, in the row and the spec. */
export function setContainerBackend(db: Db, name: string, backend: BackendName): void {
  const row = stmt(db, "SELECT spec FROM containers WHERE name = ?").get(name) as { spec: string } | undefined;
  if (!row) return;
  const spec = { ...(JSON.parse(row.spec) as ContainerSpec), backend };
  stmt(db, "UPDATE containers SET backend = ?, spec = ?, updated_ms = ? WHERE name = ?").run(backend, JSON.stringify(spec), Date.now(), name);
}

// A lost container its host reports again is back: the report revives it.
const REPORTABLE: ReadonlySet<ContainerState> = new Set(["running", "stopped", "unknown", "error", "lost"]);

/**
 * Usage from a host's report, for a container that still lives on that host and is not in the
 * middle of an operation. Usage is kept in memory only; SQLite is written only when the reported
 * state differs from the stored one (a state transition).
 */
export function recordUsage(db: Db, host: string, usage: ContainerUsage, now: number): void {
  const state = stateOf(db);
  const c = state.container(usage.name);
  if (!c || c.host !== host || !REPORTABLE.has(c.state)) return;
  state.setUsage(usage.name, usage, now);
  if (usage.state === "unknown" || usage.state === c.state) return;
  stmt(db, "UPDATE containers SET actual_state = ?, updated_ms = ? WHERE name = ?").run(usage.state, now, usage.name);
  state.setContainerState(usage.name, usage.state);
}

/**
 * A report whose usage was shed (the loop was behind) still names the host's containers: each one
 * managed there counts as reported now, usage and state unchanged. Otherwise, after three intervals
 * of shedding, the reconciler took every one for silent and asked its host about it, tens of
 * thousands of calls that put the loop further behind.
 */
export function recordMentioned(db: Db, host: string, names: readonly { name: string }[], now: number): void {
  const state = stateOf(db);
  for (const { name } of names) if (state.container(name)?.host === host) state.reportedAt(name, now);
}

/** Where a drain took the container from (restore brings it back there); null clears it. */
export function setDrainedFrom(db: Db, name: string, host: string | null): void {
  stmt(db, "UPDATE containers SET drained_from = ? WHERE name = ?").run(host, name);
}

export function drainedFrom(db: Db, host: string): string[] {
  const rows = stmt(db, "SELECT name FROM containers WHERE drained_from = ? ORDER BY name").all(host) as { name: string }[];
  return rows.map((r) => r.name);
}

/** Marks a container its host no longer has: lost, with no live-looking usage left. */
export function markLost(db: Db, name: string): void {
  stmt(db, "UPDATE containers SET actual_state = 'lost', usage = NULL, updated_ms = ? WHERE name = ?").run(Date.now(), name);
  const state = stateOf(db);
  state.setContainerState(name, "lost");
  state.clearUsage(name);
}
