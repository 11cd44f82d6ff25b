// Reservations: what placement has promised on each host. A placed container holds one
// (migration_id NULL); a migration holds one on its target until it is done or rolled back.
import type { Limits } from "@corral/wire";
import type { Db } from "./store.js";

export function reservePlacement(db: Db, host: string, container: string, limits: Limits): void {
  db.prepare("INSERT INTO reservations (host, container, memory_bytes, cpus) VALUES (?, ?, ?, ?)").run(
    host,
    container,
    limits.memoryBytes,
    limits.cpus,
  );
}

export function updatePlacement(db: Db, container: string, limits: Limits): void {
  db.prepare("UPDATE reservations SET memory_bytes = ?, cpus = ? WHERE container = ? AND migration_id IS NULL").run(
    limits.memoryBytes,
    limits.cpus,
    container,
  );
}

export function movePlacement(db: Db, container: string, host: string): void {
  db.prepare("UPDATE reservations SET host = ? WHERE container = ? AND migration_id IS NULL").run(host, container);
}

export function reserveForMigration(db: Db, migrationId: string, host: string, container: string, limits: Limits): void {
  db.prepare("DELETE FROM reservations WHERE migration_id = ?").run(migrationId);
  db.prepare("INSERT INTO reservations (host, container, migration_id, memory_bytes, cpus) VALUES (?, ?, ?, ?, ?)").run(
    host,
    container,
    migrationId,
    limits.memoryBytes,
    limits.cpus,
  );
}

export function releaseMigration(db: Db, migrationId: string): void {
  db.prepare("DELETE FROM reservations WHERE migration_id = ?").run(migrationId);
}

/** A lost container holds nothing on its host any more. */
export function releasePlacement(db: Db, container: string): void {
  db.prepare("DELETE FROM reservations WHERE container = ? AND migration_id IS NULL").run(container);
}
