// A migration is this table, read top to bottom. Each row is one forward phase: what it means
// while it is the row's current phase, what entering it records (in the transaction that writes
// the phase), the step then taken, and the undo of that step.
//
// The phase is written BEFORE its step, so a phase names the work under way, not work finished:
// `source_stopped` means "the source is being stopped". Every step and every undo is safe to run
// twice, and an undo also runs when its step failed half-way or never got to run.
//
// Rollback walks the rows entered so far (up to and including the one that failed) in reverse and
// runs their undos. Leftovers that must wait for a host to come back are removed by the same
// undo, from cleanups.ts. A row with `applies` is entered only by the migrations it names
// (precopying: only ct migrate --precopy); the others go straight past it.
import { MIGRATION_FORWARD_PHASES, type MigrationPhase } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import type { MigrationPatch, MigrationRecord } from "../store/migrations.js";
import { finish, reserveTarget, makeTargetOfRecord } from "./journal.js";
import {
  abortTarget,
  commitTarget,
  prepareTarget,
  removeSource,
  restartSource,
  startTarget,
  stopSource,
  transfer,
  precopy,
  type StepEnv,
  type Undone,
} from "./steps.js";

export type ForwardPhase = (typeof MIGRATION_FORWARD_PHASES)[number];

export interface PhaseRow {
  readonly phase: ForwardPhase;
  /** What the migration is doing while this is its phase. */
  readonly meaning: string;
  /** Database writes made together with entering the phase (inside its transaction). */
  readonly record?: (ctx: ControllerContext, m: MigrationRecord) => void;
  /** The step taken once the phase is recorded; its patch is written with the next phase. None: terminal. */
  readonly step?: (env: StepEnv, m: MigrationRecord) => Promise<MigrationPatch>;
  /** Takes the step back during a rollback. Never throws: what it cannot do is recorded in its patch. */
  readonly undo?: (ctx: ControllerContext, m: MigrationRecord) => Promise<Undone>;
  /** Absent: every migration enters the row; else only those it says yes to. */
  readonly applies?: (m: Pick<MigrationRecord, "precopy">) => boolean;
}

export const PHASE_TABLE: readonly PhaseRow[] = [
  {
    phase: "planned",
    meaning: "recorded and validated; no host has been asked anything yet",
    step: async () => ({}),
  },
  {
    phase: "target_reserved",
    meaning: "capacity is held on the target, which is being told to expect the archive",
    record: reserveTarget,
    step: prepareTarget,
    // Drops whatever the target holds for this migration: the receive, its staging, a committed copy.
    undo: abortTarget,
  },
  {
    phase: "precopying",
    meaning: "the source still runs while its tree is copied (rsync) into the target's staging; only what changes after this is sent while it is stopped",
    applies: (m) => m.precopy,
    step: precopy,
    // Nothing of its own to undo: the source never stopped, and target_reserved's undo drops the staging.
  },
  {
    phase: "source_stopped",
    meaning: "the source is being stopped; downtime starts when the stop is asked for",
    step: stopSource,
    undo: restartSource,
  },
  {
    phase: "transferring",
    meaning: "the source is streaming its archive straight to the target's staging directory",
    step: transfer,
    // Nothing of its own to undo: the staging it fills is dropped by target_reserved's undo.
  },
  {
    phase: "transferred",
    meaning: "both ends computed the same SHA-256; the target is moving the staging into place",
    step: commitTarget,
    // The committed copy is dropped by target_reserved's undo as well.
  },
  {
    phase: "target_started",
    meaning: "the target is now the container of record and is being started; a restarted controller goes forward from here",
    record: makeTargetOfRecord,
    step: startTarget,
  },
  {
    phase: "source_removed",
    meaning: "the source copy is being removed; if its host cannot be reached the removal waits for it to register",
    step: removeSource,
  },
  {
    phase: "done",
    meaning: "finished: the container is on the target in the state it had before",
    record: finish,
  },
];

export const FORWARD: readonly MigrationPhase[] = PHASE_TABLE.map((r) => r.phase);

export function rowOf(phase: MigrationPhase): PhaseRow {
  const row = PHASE_TABLE.find((r) => r.phase === phase);
  if (!row) throw new Error(`no phase row for ${phase}`);
  return row;
}

/** The next row `m` enters after `phase` (rows that do not apply to it are passed). */
export function rowAfter(phase: MigrationPhase, m: Pick<MigrationRecord, "precopy">): PhaseRow {
  const at = FORWARD.indexOf(phase);
  const next = at < 0 ? undefined : PHASE_TABLE.slice(at + 1).find((r) => r.applies?.(m) ?? true);
  if (!next) throw new Error(`no phase after ${phase}`);
  return next;
}

/** The forward phases a migration like `m` goes through, in order. */
export const phasesOf = (m: Pick<MigrationRecord, "precopy">): MigrationPhase[] => PHASE_TABLE.filter((r) => r.applies?.(m) ?? true).map((r) => r.phase);

/**
 * The rows a rollback undoes, last entered first. A row from before failed_phase was kept (it
 * rolled back from some phase before target_started), so its undos all run, as they did then.
 */
export function rowsToUndo(failed: MigrationPhase | undefined): PhaseRow[] {
  const upTo = FORWARD.indexOf(failed ?? "target_started");
  return PHASE_TABLE.slice(0, (upTo < 0 ? FORWARD.indexOf("target_started") : upTo) + 1).reverse();
}

export const isTerminal = (p: MigrationPhase) => p === "done" || p === "rolled_back";

/** Until target_started the source is the container of record, so a restart rolls back. */
export const rollsBackOnRestart = (p: MigrationPhase) => FORWARD.indexOf(p) >= 0 && FORWARD.indexOf(p) < FORWARD.indexOf("target_started");
