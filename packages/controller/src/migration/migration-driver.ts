// Runs a migration one phase at a time: read the row, take the phase's step, record the next
// phase. Nothing lives in local variables between phases, so a restarted controller picks up
// exactly where the journal says (see resume in migration-service.ts).
import type { MigrationPhase, MigrationUpdate } from "@corral/wire";
import { toMigration, type MigrationPatch, type MigrationRecord } from "../store/migrations.js";
import { enterPhase, enterRolledBack, enterRollingBack, loadMigration } from "./journal.js";
import { isTerminal, nextForward } from "./phases.js";
import {
  commitTarget,
  errorText,
  prepareTarget,
  removeSource,
  rollBack,
  startTarget,
  stopSource,
  transfer,
  type StepEnv,
} from "./steps.js";

type ForwardStep = (env: StepEnv, m: MigrationRecord) => Promise<MigrationPatch>;

const STEPS: Partial<Record<MigrationPhase, ForwardStep>> = {
  planned: async () => ({}),
  target_reserved: prepareTarget,
  source_stopped: stopSource,
  transferring: transfer,
  transferred: commitTarget,
  target_started: startTarget,
  source_removed: removeSource,
};

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
  if (m.phase === "rolling_back") {
    const sourceState = await rollBack(env, m);
    enterRolledBack(env.ctx, loadMigration(env.ctx, m.id), sourceState);
    return;
  }
  const step = STEPS[m.phase];
  if (!step) throw new Error(`migration ${m.id} is in unknown phase ${m.phase}`);
  let patch: MigrationPatch;
  try {
    patch = await step(env, m);
  } catch (err) {
    // A controller shutting down leaves the row as it is; the next start decides.
    if (env.signal.aborted || !env.ctx.store.open) return;
    env.ctx.log.warn({ migration: m.id, phase: m.phase, err: errorText(err) }, "migration step failed: rolling back");
    enterRollingBack(env.ctx, m, `${m.phase}: ${errorText(err)}`);
    return;
  }
  if (env.signal.aborted || !env.ctx.store.open) return;
  const next = nextForward(m.phase);
  enterPhase(env.ctx, m, next, next === "done" ? { ...patch, finishedUnixMs: Date.now() } : patch);
  env.ctx.log.info({ migration: m.id, container: m.container, phase: next }, "migration phase");
}

export function updateOf(m: MigrationRecord, rate = 0, eta = 0): MigrationUpdate {
  return { migration: toMigration(m), rateBytesPerSecond: rate, etaSeconds: eta };
}
