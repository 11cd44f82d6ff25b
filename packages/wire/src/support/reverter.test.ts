import { test } from "node:test";
import assert from "node:assert/strict";
import { Reverter } from "./reverter.js";

test("fail runs undos in reverse, keeps going past a failing undo, and reports it", async () => {
  const ran: string[] = [];
  const errors: unknown[] = [];
  const r = new Reverter((e) => errors.push(e));
  r.add(() => ran.push("a"));
  r.add(() => {
    throw new Error("b broke");
  });
  r.add(async () => ran.push("c"));
  await r.fail();
  assert.deepEqual(ran, ["c", "a"]);
  assert.equal((errors[0] as Error).message, "b broke");
  await r.fail();
  assert.deepEqual(ran, ["c", "a"], "a second fail runs nothing");
});

test("succeed forgets the undos", async () => {
  const ran: string[] = [];
  const r = new Reverter();
  r.add(() => ran.push("a"));
  r.succeed();
  await r.fail();
  assert.deepEqual(ran, []);
});
