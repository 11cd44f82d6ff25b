// Reservations: what placement has promised on each host. A placed container holds one
// (migration_id NULL); a migration holds one on its target until it is done or rolled back.
// Each write is mirrored in the in-memory cluster state, whose per-host totals the scheduler reads.
import type { Limits } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { stateOf } from "./cluster-state.js";

/** What a container's limits hold on its host: memory, CPUs and disk (0 for a limit not set). */
const heldOf = (limits: Limits) => ({ memoryBytes: limits.memoryBytes, cpus: limits.cpus, diskBytes: limits.diskBytes ?? 0 });

export function reservePlacement(db: Db, host: string, container: string, limits: Limits): void {
  const held = heldOf(limits);
  stmt(db, "INSERT INTO reservations (host, container, memory_bytes, cpus, disk_bytes) VALUES (?, ?, ?, ?, ?)").run(
    host,
    container,
    held.memoryBytes,
    held.cpus,
    held.diskBytes,
  );
  stateOf(db).reservePlacement(container, { host, memoryBytes: held.memoryBytes, cpus: held.cpus, diskBytes: held.diskBytes });
}

export function updatePlacement(db: Db, container: string, limits: Limits): void {
  const want = heldOf(limits);
  const changed = stmt(
    db,
    "UPDATE reservations SET memory_bytes = ?, cpus = ?, disk_bytes = ? WHERE container = ? AND migration_id IS NULL",
  ).run(want.memoryBytes, want.cpus, want.diskBytes, container).changes;
  const state = stateOf(db);
  const held = state.placementOf(container);
  if (changed > 0 && held) state.reservePlacement(container, { host: held.host, ...want });
}

export function movePlacement(db: Db, container: string, host: string): void {
  stmt(db, "UPDATE reservations SET host = ? WHERE container = ? AND migration_id IS NULL").run(host, container);
  const state = stateOf(db);
  const held = state.placementOf(container);
  if (held) state.reservePlacement(container, { ...held, host });
}

export function reserveForMigration(db: Db, migrationId: string, host: string, container: string, limits: Limits): void {
  stmt(db, "DELETE FROM reservations WHERE migration_id = ?").run(migrationId);
  const held = heldOf(limits);
  stmt(db, "INSERT INTO reservations (host, container, migration_id, memory_bytes, cpus, disk_bytes) VALUES (?, ?, ?, ?, ?, ?)").run(
    host,
    container,
    migrationId,
    held.memoryBytes,
    held.cpus,
    held.diskBytes,
  );
  stateOf(db).holdForMigration(migrationId, { host, container, ...held });
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
