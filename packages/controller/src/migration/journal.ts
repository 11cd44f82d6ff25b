// The database side of each phase: what is written, in one transaction, when a phase is entered.
// Agent calls never happen here; they are in steps.ts and run after the phase is recorded.
import type { ContainerState, MigrationPhase } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer, setContainerHost, setContainerState } from "../store/containers.js";
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

/** Enters the next forward phase with the writes that belong to it. */
export function enterPhase(ctx: ControllerContext, m: MigrationRecord, phase: MigrationPhase, patch: MigrationPatch = {}): void {
  const db = ctx.store.db;
  ctx.store.tx(() => {
    updateMigration(db, m.id, { ...patch, phase });
    if (phase === "target_reserved") {
      const limits = getContainer(db, m.container)?.spec.limits ?? { memoryBytes: 0, cpus: 0 };
      reserveForMigration(db, m.id, m.targetHost, m.container, limits);
    }
    if (phase === "target_started") {
      // From here the target is the container of record.
      setContainerHost(db, m.container, m.targetHost);
      movePlacement(db, m.container, m.targetHost);
      releaseMigration(db, m.id);
    }
    if (phase === "done") {
      setContainerState(db, m.container, m.wasRunning ? "running" : "stopped");
      const done = loadMigration(ctx, m.id);
      ctx.store.emit(SUBJECTS.migrationDone, toMigration(done));
    }
  });
}

/** Enters rolling_back: the source becomes the container of record again. */
export function enterRollingBack(ctx: ControllerContext, m: MigrationRecord, cause: string): void {
  const db = ctx.store.db;
  ctx.store.tx(() => {
    updateMigration(db, m.id, { phase: "rolling_back", error: cause });
    if (getContainer(db, m.container)?.host === m.targetHost) {
      setContainerHost(db, m.container, m.sourceHost);
      movePlacement(db, m.container, m.sourceHost);
    }
  });
}

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
  ctx.store.tx(() => updateMigration(ctx.store.db, id, patch));
}
