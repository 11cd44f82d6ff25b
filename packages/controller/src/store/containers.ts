// Containers: where each lives, what it should be and what it was last seen to be.
import type { BackendName, Container, ContainerSpec, ContainerState, ContainerUsage, DesiredState } from "@corral/wire";
import type { Db } from "./store.js";

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

function toContainer(r: ContainerRow): Container {
  return {
    name: r.name,
    host: r.host,
    backend: r.backend,
    state: r.actual_state,
    desiredState: r.desired_state,
    spec: JSON.parse(r.spec) as ContainerSpec,
    usage: r.usage ? (JSON.parse(r.usage) as ContainerUsage) : undefined,
    createdUnixMs: r.created_ms,
    lastReportUnixMs: r.last_report_ms,
  };
}

export function getContainer(db: Db, name: string): Container | undefined {
  const row = db.prepare("SELECT * FROM containers WHERE name = ?").get(name) as ContainerRow | undefined;
  return row ? toContainer(row) : undefined;
}

export function listContainers(db: Db, host = ""): Container[] {
  const rows = host
    ? db.prepare("SELECT * FROM containers WHERE host = ? ORDER BY name").all(host)
    : db.prepare("SELECT * FROM containers ORDER BY name").all();
  return (rows as ContainerRow[]).map(toContainer);
}

export function insertContainer(db: Db, spec: ContainerSpec, host: string, desired: DesiredState, now: number): void {
  db.prepare(
    `INSERT INTO containers (name, host, backend, spec, desired_state, actual_state, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, 'creating', ?, ?)`,
  ).run(spec.name, host, spec.backend, JSON.stringify(spec), desired, now, now);
}

export function deleteContainer(db: Db, name: string): void {
  db.prepare("DELETE FROM containers WHERE name = ?").run(name);
}

export function setContainerState(db: Db, name: string, actual: ContainerState, desired?: DesiredState): void {
  db.prepare(
    "UPDATE containers SET actual_state = ?, desired_state = COALESCE(?, desired_state), updated_ms = ? WHERE name = ?",
  ).run(actual, desired ?? null, Date.now(), name);
}

export function setContainerSpec(db: Db, name: string, spec: ContainerSpec): void {
  db.prepare("UPDATE containers SET spec = ?, updated_ms = ? WHERE name = ?").run(JSON.stringify(spec), Date.now(), name);
}

export function setContainerHost(db: Db, name: string, host: string): void {
  db.prepare("UPDATE containers SET host = ?, updated_ms = ? WHERE name = ?").run(host, Date.now(), name);
}

/** Usage from a host's report; only for a container that still lives on that host. */
export function recordUsage(db: Db, host: string, usage: ContainerUsage, now: number): void {
  const state = usage.state === "unknown" ? null : usage.state;
  db.prepare(
    `UPDATE containers SET usage = ?, actual_state = COALESCE(?, actual_state), updated_ms = ?, last_report_ms = ?
     WHERE name = ? AND host = ? AND actual_state IN ('running', 'stopped', 'unknown', 'error', 'lost')`,
  ).run(JSON.stringify(usage), state, now, now, usage.name, host);
}

/** Marks a container its host no longer has: lost, with no live-looking usage left. */
export function markLost(db: Db, name: string): void {
  db.prepare("UPDATE containers SET actual_state = 'lost', usage = NULL, updated_ms = ? WHERE name = ?").run(Date.now(), name);
}
