// The phase order of a migration (DESIGN.md). A phase is written before its step is taken.
import { MIGRATION_FORWARD_PHASES, type MigrationPhase } from "@corral/wire";

export const FORWARD: readonly MigrationPhase[] = MIGRATION_FORWARD_PHASES;

export const isTerminal = (p: MigrationPhase) => p === "done" || p === "rolled_back";

/** Until target_started the source is the container of record and a failure rolls back. */
export const rollsBackOnFailure = (p: MigrationPhase) => FORWARD.indexOf(p) >= 0 && FORWARD.indexOf(p) < FORWARD.indexOf("target_started");

export function nextForward(p: MigrationPhase): MigrationPhase {
  const i = FORWARD.indexOf(p);
  const next = FORWARD[i + 1];
  if (i < 0 || !next) throw new Error(`no phase after ${p}`);
  return next;
}
