// When pre-copy runs another live pass (steps.ts, anotherPass): while the passes shrink by half
// and are still larger than a final pass should be, at most MAX_LIVE_PASSES.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONVERGED_BYTES, MAX_LIVE_PASSES, anotherPass } from "./steps.js";

const MiB = 1024 * 1024;

test("a large first pass is followed by another; a pass of CONVERGED_BYTES or less ends the live passes", () => {
  assert.equal(anotherPass([1024 * MiB]), true);
  assert.equal(anotherPass([1024 * MiB, 35 * MiB]), true);
  assert.equal(anotherPass([1024 * MiB, 35 * MiB, 600 * 1024]), false);
  assert.equal(anotherPass([CONVERGED_BYTES]), false);
  assert.equal(anotherPass([CONVERGED_BYTES + 1]), true);
});

test("passes that do not halve mean the container writes as fast as they copy: the final pass takes it", () => {
  assert.equal(anotherPass([1024 * MiB, 600 * MiB]), false);
  assert.equal(anotherPass([1024 * MiB, 512 * MiB]), true);
});

test("never more than MAX_LIVE_PASSES live passes", () => {
  const halving = Array.from({ length: MAX_LIVE_PASSES }, (_, i) => (1024 * MiB) / 4 ** i);
  assert.ok(halving.at(-1)! > CONVERGED_BYTES, "the series must still be above the floor for this test to mean anything");
  assert.equal(anotherPass(halving.slice(0, MAX_LIVE_PASSES - 1)), true);
  assert.equal(anotherPass(halving), false);
});
