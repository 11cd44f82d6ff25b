#!/usr/bin/env node
// Runs compiled tests with node's test runner. Suites:
//   unit         packages/*/lib/**/*.test.js (beside their code)
//   conformance  packages/agent/lib/backends/conformance/*.test.js (real runtimes)
//   cross        test/lib/*.test.js (several emulated hosts)
//   faults       test/lib/faults/*.test.js (the fault matrix: real faults across emulated hosts)
//   seed         test/lib/seed/*.test.js (seed 000 end to end)
//   hosts        conformance, cross and faults (and seed with --seed) in two lanes at once; see below
// Extra arguments filter the files by substring.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const suite = process.argv[2] ?? "unit";
const withSeed = process.argv.includes("--seed");
const extra = process.argv.slice(3).filter((a) => a !== "--seed");

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const pkgs = ["wire", "agent", "controller", "cli"].map((p) => join(root, "packages", p, "lib"));
const SUITES = {
  unit: () => pkgs.flatMap((d) => walk(d)).filter((f) => !f.includes("/conformance/")),
  conformance: () => walk(join(root, "packages/agent/lib/backends/conformance")),
  cross: () => walk(join(root, "test/lib")).filter((f) => !f.includes("/bench/") && !f.includes("/faults/") && !f.includes("/seed/")),
  faults: () => walk(join(root, "test/lib/faults")),
  seed: () => walk(join(root, "test/lib/seed")),
};

const filtered = (files) => (extra.length ? files.filter((f) => extra.some((x) => f.includes(x))) : files);

/**
 * Two lanes, each one file at a time. A file that marks itself `// @test-lane own` uses only what its
 * cluster slot names (namespaces, LXC path, bridge, ports, its own dockerds, its own LXD project) and
 * runs in the "own" lane; every other host-level file (conformance drives the machine's dockerd and
 * LXD's default project) runs in the "shared" lane. Unmarked means shared: a new file is safe by
 * default. Files are marked so that the two lanes take about the same time.
 */
const ownLane = (f) => /^\/\/ @test-lane own\b/m.test(readFileSync(f, "utf8"));

/** Runs `files` with node's test runner; resolves with its exit code. `tag` prefixes each output line. */
function runFiles(files, concurrency, tag) {
  return new Promise((resolve) => {
    const args = ["--test", `--test-concurrency=${concurrency}`, ...files];
    const child = spawn(process.execPath, args, { stdio: tag ? ["ignore", "pipe", "pipe"] : "inherit" });
    if (tag) {
      for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
        let rest = "";
        from.on("data", (d) => {
          const lines = (rest + d.toString()).split("\n");
          rest = lines.pop() ?? "";
          for (const l of lines) to.write(`[${tag}] ${l}\n`);
        });
        from.on("end", () => rest && to.write(`[${tag}] ${rest}\n`));
      }
    }
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (suite === "hosts") {
  // Two lanes at once: the machine has two cores and these suites mostly wait on runtimes.
  const hostFiles = filtered([...SUITES.conformance(), ...SUITES.cross(), ...(withSeed ? SUITES.seed() : []), ...SUITES.faults()]);
  const lanes = { shared: hostFiles.filter((f) => !ownLane(f)), own: hostFiles.filter(ownLane) };
  const t0 = Date.now();
  const results = await Promise.all(
    Object.entries(lanes).map(async ([name, files]) => {
      if (!files.length) return { name, code: 0, seconds: 0, files };
      const code = await runFiles(files, 1, name);
      return { name, code, seconds: Math.round((Date.now() - t0) / 1000), files };
    }),
  );
  for (const r of results) {
    console.log(`lane ${r.name}: ${r.code === 0 ? "PASS" : `FAIL (exit ${r.code})`} in ${r.seconds}s: ${r.files.map((f) => relative(root, f)).join(" ")}`);
  }
  process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
}

if (!(suite in SUITES)) {
  console.error(`unknown suite ${suite}`);
  process.exit(2);
}
const files = filtered(SUITES[suite]());
if (!files.length) {
  console.error(`no test files for suite ${suite}`);
  process.exit(1);
}
// One file at a time: several unit files drive the machine's one dockerd and LXD too, and the
// host-level suites share host resources (netns, lxc paths, LXD). `hosts` is where files run at once.
process.exit(await runFiles(files, 1));
