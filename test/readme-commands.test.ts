// @test-lane own (everything it uses is named by its cluster slot: netns, dockerds, LXD project)
// The README's promise, checked: every command in the runnable blocks of "## Using it" works as
// printed, in the order shown, against a real local cluster (3 hosts, LXC + Docker + LXD + the
// OpenVZ stand-in). A block is runnable when `<!-- runnable -->` stands on the line before its
// ```sh fence; every ```sh block of that section must be runnable. The lines run one after another
// in ONE bash (so `$(…)` ids and the `corral` function carry over), from the repository's root,
// with `corral` on PATH bound to this cluster; the first line that exits non-zero fails the test
// and is printed with its exit code and the output so far.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, TestCluster } from "./support/cluster.js";

const SECTION = "## Using it";
const MARKER = "<!-- runnable -->";
const BLOCK_TIMEOUT_MS = 200_000;

const cluster = new TestCluster({ hosts: 3, slot: 7, docker: true });
const bin = mkdtempSync(join(tmpdir(), "corral-readme-bin-"));

/** The runnable ```sh blocks of one section, each as its command lines (comment-only and blank lines dropped). */
export function runnableBlocks(markdown: string, section: string): { line: number; text: string }[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === section);
  assert.notEqual(start, -1, `README.md has no "${section}" section`);
  const blocks: { line: number; text: string }[][] = [];
  for (let i = start + 1; i < lines.length && !/^## /.test(lines[i] as string); i++) {
    if (!/^```sh\s*$/.test(lines[i] as string)) continue;
    const marked = (lines[i - 1] as string).trim() === MARKER;
    assert.ok(marked, `README.md line ${i + 1}: a \`\`\`sh block in "${section}" without ${MARKER} before it: every command shown there must run`);
    const block: { line: number; text: string }[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) {
      const text = (lines[i] as string).trim();
      if (!text || text.startsWith("#")) continue;
      assert.ok(!text.endsWith("\\"), `README.md line ${i + 1}: one command per line, no continuation: ${text}`);
      block.push({ line: i + 1, text });
    }
    blocks.push(block);
  }
  return blocks;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One bash script: each line announced on stderr, run, and its exit code checked before the next. */
function script(lines: { line: number; text: string }[]): string {
  const out = ["set -o pipefail", "cd " + quote(REPO)];
  for (const { line, text } of lines) {
    out.push(`printf '\\n@@readme %d %s   [%ss]\\n' ${line} ${quote(text)} "$SECONDS" >&2`);
    out.push(text);
    out.push(`__rc=$?; if [ $__rc -ne 0 ]; then printf '\\n@@failed README.md line %d exited %d: %s\\n' ${line} $__rc ${quote(text)} >&2; exit 97; fi`);
  }
  out.push("printf '\\n@@readme done\\n' >&2");
  return out.join("\n") + "\n";
}

before(async () => {
  await cluster.up();
  // `corral` as a person has it: the repo's CLI; the cluster's config file names this cluster's
  // controller and the admin's certificate (TestCluster's env carries CORRAL_CONFIG).
  writeFileSync(join(bin, "corral"), `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(join(REPO, "packages/cli/bin/corral.js"))} "$@"\n`);
  chmodSync(join(bin, "corral"), 0o755);
});
after(async () => {
  await cluster.down();
  rmSync(bin, { recursive: true, force: true });
});

test("every command in README.md's runnable blocks of \"Using it\" works as printed, in order", async () => {
  const blocks = runnableBlocks(readFileSync(join(REPO, "README.md"), "utf8"), SECTION);
  assert.ok(blocks.length >= 1, `no ${MARKER} block in "${SECTION}"`);
  const lines = blocks.flat();
  assert.ok(lines.length >= 10, `only ${lines.length} runnable lines: the blocks were not found whole`);
  const file = join(bin, "readme.sh");
  writeFileSync(file, script(lines));

  const r = await new Promise<{ code: number | null; output: string; timedOut: boolean }>((resolve) => {
    const child = spawn("bash", [file], {
      cwd: REPO,
      env: { ...cluster.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, BLOCK_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString(), timedOut });
    });
  });

  const last = [...r.output.matchAll(/^@@readme (\d+) (.*)$/gm)].at(-1);
  const tail = r.output.split("\n").slice(-40).join("\n");
  if (r.timedOut) assert.fail(`README.md line ${last?.[1]} did not end within ${BLOCK_TIMEOUT_MS / 1000}s: ${last?.[2]}\n--- output\n${tail}`);
  const failed = /^@@failed (.*)$/m.exec(r.output);
  assert.equal(failed, null, `${failed?.[1]}\n--- output\n${tail}`);
  assert.equal(r.code, 0, `bash exited ${r.code}\n--- output\n${tail}`);
  assert.match(r.output, /^@@readme done$/m);
  // The transcript, with each line's start time: what a reader of the README would see.
  console.log(r.output);
});
