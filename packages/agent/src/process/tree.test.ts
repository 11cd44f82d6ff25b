import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { descendantsOf, killTree } from "./tree.js";

test("a shell and the sleep it forked are both killed", async () => {
  // `; true` keeps sh from exec'ing the sleep, so there really is a child to find.
  const sh = spawn("sh", ["-c", "sleep 600; true"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  const kids = await descendantsOf(sh.pid!);
  assert.equal(kids.length, 1);
  await killTree(sh.pid!);
  await new Promise((r) => sh.on("close", r));
  await new Promise((r) => setTimeout(r, 100));
  // Killed: gone, or a zombie until whoever adopted it reaps it.
  const state = existsSync(`/proc/${kids[0]}/stat`) ? readFileSync(`/proc/${kids[0]}/stat`, "utf8").split(") ")[1]?.[0] : "gone";
  assert.ok(state === "gone" || state === "Z", `the forked sleep is still alive (state ${state})`);
});
