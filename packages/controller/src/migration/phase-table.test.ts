// The table is the migration: it must hold the wire's forward phases in the wire's order, and a
// rollback must undo exactly the rows entered, last first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MIGRATION_FORWARD_PHASES } from "@corral/wire";
import { FORWARD, PHASE_TABLE, phasesOf, rowAfter, rowsToUndo } from "./phase-table.js";

test("the table holds every forward phase of the contract once, in its order, and only done has no step", () => {
  assert.deepEqual(FORWARD, MIGRATION_FORWARD_PHASES);
  assert.deepEqual(PHASE_TABLE.filter((r) => !r.step).map((r) => r.phase), ["done"]);
  for (const r of PHASE_TABLE) assert.ok(r.meaning.length > 0, `${r.phase} says what it means`);
});

test("a rollback undoes the rows entered up to the failed one, last first; an old row without it undoes all before target_started", () => {
  const undos = (failed?: Parameters<typeof rowsToUndo>[0]) => rowsToUndo(failed).filter((r) => r.undo).map((r) => r.phase);
  assert.deepEqual(undos("target_reserved"), ["target_reserved"]);
  assert.deepEqual(undos("transferring"), ["source_stopped", "target_reserved"]);
  assert.deepEqual(undos(undefined), ["source_stopped", "target_reserved"]);
  assert.deepEqual(rowsToUndo("planned").map((r) => r.phase), ["planned"]);
});

test("only a --precopy migration enters precopying, between target_reserved and source_stopped", () => {
  const cold = phasesOf({ precopy: false });
  const warm = phasesOf({ precopy: true });
  assert.deepEqual(warm, [...MIGRATION_FORWARD_PHASES]);
  assert.deepEqual(cold, MIGRATION_FORWARD_PHASES.filter((p) => p !== "precopying"));
  assert.equal(rowAfter("target_reserved", { precopy: false }).phase, "source_stopped");
  assert.equal(rowAfter("target_reserved", { precopy: true }).phase, "precopying");
  assert.equal(rowAfter("precopying", { precopy: true }).phase, "source_stopped");
});
