// The database side of a migration: the transactions that enter a phase, and the writes that the
// phase table's rows record. Agent calls never happen here; they are in steps.ts and run after the
// phase is recorded.
import type { ContainerState, MigrationPhase } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer, setContainerBackend, setContainerHost, setContainerState } from "../store/containers.js";
import {
  getMigration,
  toMigration,
  updateMigration,
  type MigrationPatch,
  type MigrationRecord,
} from "../store/migrations.js";
import { movePlacement, releaseMigration, reserveForMigration } from "../store/reservations.js";
import { SUBJECTS } from "../events/subjects.js";

export function loadMigration(ctx: ControllerContext, id: string): MigrationRecord {
  const m = getMigration(ctx.store.db, id);
  if (!m) throw new Error(`migration ${id} vanished from the store`);
  return m;
}

/** Enters a forward phase: the phase, the previous step's patch and the row's own record, together. */
export function enterPhase(
  ctx: ControllerContext,
  m: MigrationRecord,
  phase: MigrationPhase,
  patch: MigrationPatch,
  record?: (ctx: ControllerContext, m: MigrationRecord) => void,
): void {
  ctx.store.tx(() => {
    updateMigration(ctx.store.db, m.id, { ...patch, phase, phaseStartedUnixMs: Date.now() });
    record?.(ctx, m);
  });
}

/** target_reserved: the target's capacity is held for the migration. */
export function reserveTarget(ctx: ControllerContext, m: MigrationRecord): void {
  const limits = getContainer(ctx.store.db, m.container)?.spec.limits ?? { memoryBytes: 0, cpus: 0 };
  reserveForMigration(ctx.store.db, m.id, m.targetHost, m.container, limits);
}

/** target_started: from here the target is the container of record. */
export function makeTargetOfRecord(ctx: ControllerContext, m: MigrationRecord): void {
  setContainerHost(ctx.store.db, m.container, m.targetHost);
  // A converting move: from here the container is the target backend's.
  if (m.targetBackend !== m.backend) setContainerBackend(ctx.store.db, m.container, m.targetBackend);
  movePlacement(ctx.store.db, m.container, m.targetHost);
  releaseMigration(ctx.store.db, m.id);
}

/** done: the container is back in the state it had before. */
export function finish(ctx: ControllerContext, m: MigrationRecord): void {
  updateMigration(ctx.store.db, m.id, { finishedUnixMs: Date.now() });
  setContainerState(ctx.store.db, m.container, m.wasRunning ? "running" : "stopped");
  ctx.store.emit(SUBJECTS.migrationDone, toMigration(loadMigration(ctx, m.id)));
}

/** Enters rolling_back: the source becomes the container of record again. */
export function enterRollingBack(ctx: ControllerContext, m: MigrationRecord, cause: string, failedHost?: string): void {
  const db = ctx.store.db;
  ctx.store.tx(() => {
    updateMigration(db, m.id, { phase: "rolling_back", error: cause, failedPhase: m.phase, phaseStartedUnixMs: Date.now(), failedHost: failedHost ?? "" });
    if (getContainer(db, m.container)?.host === m.targetHost) {
      setContainerHost(db, m.container, m.sourceHost);
      if (m.targetBackend !== m.backend) setContainerBackend(db, m.container, m.backend);
      movePlacement(db, m.container, m.sourceHost);
    }
  });
}

/** Enters rolled_back once the undos ran: the reservation on the target is freed. */
export function enterRolledBack(ctx: ControllerContext, m: MigrationRecord, sourceState: ContainerState): void {
  const db = ctx.store.db;
  ctx.store.tx(() => {
    updateMigration(db, m.id, { phase: "rolled_back", finishedUnixMs: Date.now() });
    releaseMigration(db, m.id);
    setContainerState(db, m.container, sourceState);
    ctx.store.emit(SUBJECTS.migrationRolledBack, toMigration(loadMigration(ctx, m.id)));
  });
}

export function patchMigration(ctx: ControllerContext, id: string, patch: MigrationPatch): void {
  if (Object.keys(patch).length === 0) return;
  ctx.store.tx(() => updateMigration(ctx.store.db, id, patch));
}
