// Runs a migration one phase at a time: read the row, take its phase's step (phase-table.ts),
// record the next phase. Nothing lives in local variables between phases, so a restarted
// controller picks up exactly where the journal says (see resume in migration-service.ts).
import { messageOf, type ContainerState, type MigrationUpdate } from "@corral/wire";
import { toMigration, type MigrationPatch, type MigrationRecord } from "../store/migrations.js";
import { enterPhase, enterRolledBack, enterRollingBack, loadMigration, patchMigration } from "./journal.js";
import { isTerminal, rowAfter, rowOf, rowsToUndo } from "./phase-table.js";
import { HostFailure, type StepEnv } from "./steps.js";

export async function driveMigration(env: StepEnv, id: string): Promise<MigrationRecord> {
  for (;;) {
    if (env.signal.aborted || !env.ctx.store.open) return loadMigration(env.ctx, id);
    const m = loadMigration(env.ctx, id);
    if (isTerminal(m.phase)) return m;
    await runPhase(env, m);
    if (!env.ctx.store.open) throw new Error("store closed");
    env.onUpdate(updateOf(loadMigration(env.ctx, id)));
  }
}

async function runPhase(env: StepEnv, m: MigrationRecord): Promise<void> {
  if (m.phase === "rolling_back") return rollBack(env, m);
  const { step } = rowOf(m.phase);
  if (!step) throw new Error(`migration ${m.id} has no step in phase ${m.phase}`);
  let patch: MigrationPatch;
  try {
    patch = await step(env, m);
  } catch (err) {
    // A controller shutting down leaves the row as it is; the next start decides.
    if (env.signal.aborted || !env.ctx.store.open) return;
    env.ctx.log.warn({ migration: m.id, phase: m.phase, err: messageOf(err) }, "migration step failed: rolling back");
    // The message stays what the agent said; the host to blame is recorded beside it.
    enterRollingBack(env.ctx, m, `${m.phase}: ${messageOf(err)}`, err instanceof HostFailure ? err.host : undefined);
    return;
  }
  if (env.signal.aborted || !env.ctx.store.open) return;
  const next = rowAfter(m.phase, m);
  enterPhase(env.ctx, m, next.phase, patch, next.record);
  env.ctx.log.info({ migration: m.id, container: m.container, phase: next.phase }, "migration phase");
}

/** Undoes the rows entered so far, last first, then records rolled_back with the source's state. */
async function rollBack(env: StepEnv, m: MigrationRecord): Promise<void> {
  let sourceState: ContainerState = m.wasRunning ? "running" : "stopped";
  for (const row of rowsToUndo(m.failedPhase)) {
    if (!row.undo) continue;
    const undone = await row.undo(env.ctx, loadMigration(env.ctx, m.id));
    patchMigration(env.ctx, m.id, undone.patch);
    sourceState = undone.sourceState ?? sourceState;
  }
  enterRolledBack(env.ctx, loadMigration(env.ctx, m.id), sourceState);
}

/** An update between transfers: no rate, and an ETA that is not known (-1). */
export function updateOf(m: MigrationRecord, rate = 0, eta = -1): MigrationUpdate {
  return { migration: toMigration(m), rateBytesPerSecond: rate, etaSeconds: eta };
}
