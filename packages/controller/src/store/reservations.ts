// Reservations: what placement has promised on each host. A placed container holds one
// (migration_id NULL); a migration holds one on its target until it is done or rolled back.
// Each write is mirrored in the in-memory cluster state, whose per-host totals the scheduler reads.
import type { Limits } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { stateOf } from "./cluster-state.js";

export function reservePlacement(db: Db, host: string, container: string, limits: Limits): void {
  stmt(db, "INSERT INTO reservations (host, container, memory_bytes, cpus) VALUES (?, ?, ?, ?)").run(
    host,
    container,
    limits.memoryBytes,
    limits.cpus,
  );
  stateOf(db).reservePlacement(container, { host, memoryBytes: limits.memoryBytes, cpus: limits.cpus });
}

export function updatePlacement(db: Db, container: string, limits: Limits): void {
  const changed = stmt(
    db,
    "UPDATE reservations SET memory_bytes = ?, cpus = ? WHERE container = ? AND migration_id IS NULL",
  ).run(limits.memoryBytes, limits.cpus, container).changes;
  const state = stateOf(db);
  const held = state.placementOf(container);
  if (changed > 0 && held) state.reservePlacement(container, { host: held.host, memoryBytes: limits.memoryBytes, cpus: limits.cpus });
}

export function movePlacement(db: Db, container: string, host: string): void {
  stmt(db, "UPDATE reservations SET host = ? WHERE container = ? AND migration_id IS NULL").run(host, container);
  const state = stateOf(db);
  const held = state.placementOf(container);
  if (held) state.reservePlacement(container, { ...held, host });
}

export function reserveForMigration(db: Db, migrationId: string, host: string, container: string, limits: Limits): void {
  stmt(db, "DELETE FROM reservations WHERE migration_id = ?").run(migrationId);
  stmt(db, "INSERT INTO reservations (host, container, migration_id, memory_bytes, cpus) VALUES (?, ?, ?, ?, ?)").run(
    host,
    container,
    migrationId,
    limits.memoryBytes,
    limits.cpus,
  );
  stateOf(db).holdForMigration(migrationId, { host, container, memoryBytes: limits.memoryBytes, cpus: limits.cpus });
}

export function releaseMigration(db: Db, migrationId: string): void {
  stmt(db, "DELETE FROM reservations WHERE migration_id = ?").run(migrationId);
  stateOf(db).releaseMigration(migrationId);
}

/** A lost container holds nothing on its host any more. */
export function releasePlacement(db: Db, container: string): void {
  stmt(db, "DELETE FROM reservations WHERE container = ? AND migration_id IS NULL").run(container);
  // Through the in-memory state too: the scheduler and host list read reservations from there.
  stateOf(db).releasePlacement(container);
}
