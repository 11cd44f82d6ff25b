#!/usr/bin/env node
// Runs compiled tests with node's test runner. Suites:
//   unit         packages/*/lib/**/*.test.js (beside their code)
//   conformance  packages/agent/lib/backends/conformance/*.test.js (real runtimes)
//   cross        test/lib/*.test.js (several emulated hosts)
//   faults       test/lib/faults/*.test.js (the fault matrix: real faults across emulated hosts)
//   seed         test/lib/seed/*.test.js (seed 000 end to end; not yet part of npm test, see the README)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const suite = process.argv[2] ?? "unit";
const extra = process.argv.slice(3);

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const pkgs = ["wire", "agent", "controller", "cli"].map((p) => join(root, "packages", p, "lib"));
let files;
if (suite === "unit") files = pkgs.flatMap((d) => walk(d)).filter((f) => !f.includes("/conformance/"));
else if (suite === "conformance") files = walk(join(root, "packages/agent/lib/backends/conformance"));
else if (suite === "cross") files = walk(join(root, "test/lib")).filter((f) => !f.includes("/bench/") && !f.includes("/faults/") && !f.includes("/seed/"));
else if (suite === "seed") files = walk(join(root, "test/lib/seed"));
else if (suite === "faults") files = walk(join(root, "test/lib/faults"));
else {
  console.error(`unknown suite ${suite}`);
  process.exit(2);
}
if (extra.length) files = files.filter((f) => extra.some((x) => f.includes(x)));
if (!files.length) {
  console.error(`no test files for suite ${suite}`);
  process.exit(1);
}
// Cross-host and conformance tests share host resources (netns, lxc paths): run files one at a time.
const concurrency = suite === "unit" ? [] : ["--test-concurrency=1"];
const r = spawnSync(process.execPath, ["--test", ...concurrency, ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
