// The two pieces of ct cp and ct logs that decide where bytes go, on real directories: a path in a
// container's root resolves inside it whatever its symlinks say, and a log's tail is its last lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveInRoot } from "./container-copy.js";
import { fileLogs, tailOfBuffer } from "./file-logs.js";

test("resolveInRoot follows symlinks inside the root and never out of it", async () => {
  const root = mkdtempSync(join(tmpdir(), "corral-root-"));
  try {
    mkdirSync(join(root, "etc"));
    mkdirSync(join(root, "var/data"), { recursive: true });
    symlinkSync("/", join(root, "up")); // absolute: the container's own root
    symlinkSync("../../../../..", join(root, "var/dots")); // climbs past the root
    symlinkSync("/var/data", join(root, "data"));
    symlinkSync("loop2", join(root, "loop1"));
    symlinkSync("loop1", join(root, "loop2"));
    assert.equal(await resolveInRoot(root, "/up/etc/passwd"), join(root, "etc/passwd"));
    assert.equal(await resolveInRoot(root, "/var/dots/etc"), join(root, "etc"));
    assert.equal(await resolveInRoot(root, "/../../etc"), join(root, "etc"));
    assert.equal(await resolveInRoot(root, "/data/x"), join(root, "var/data/x"));
    assert.equal(await resolveInRoot(root, "/missing/../../../x"), join(root, "x"));
    await assert.rejects(resolveInRoot(root, "/loop1/x"), /too many levels of symbolic links/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const collect = async (it: AsyncIterable<Buffer>): Promise<string> => {
  let s = "";
  for await (const b of it) s += b.toString();
  return s;
};

test("a log's tail is its last N lines, whole or without its final newline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-log-"));
  try {
    const log = join(dir, "console.log");
    const lines = Array.from({ length: 30_000 }, (_, i) => `line ${i}`).join("\n") + "\n"; // > one 64 KiB block
    writeFileSync(log, lines);
    const never = new AbortController().signal;
    assert.equal(await collect(fileLogs(log, { tail: 2, follow: false }, never)), "line 29998\nline 29999\n");
    assert.equal(await collect(fileLogs(log, { tail: 0, follow: false }, never)), "");
    assert.equal(await collect(fileLogs(log, { tail: -1, follow: false }, never)), lines);
    assert.equal((await collect(fileLogs(log, { tail: 20_000, follow: false }, never))).split("\n")[0], "line 10000");
    assert.equal(await collect(fileLogs(join(dir, "absent"), { tail: 5, follow: false }, never)), "");
    assert.equal(tailOfBuffer(Buffer.from("a\nb\nc"), 2).toString(), "b\nc");
    assert.equal(tailOfBuffer(Buffer.from("a\nb\nc\n"), 1).toString(), "c\n");
    assert.equal(tailOfBuffer(Buffer.from("a\nb\n"), 5).toString(), "a\nb\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A follower that misses the line would wait for ever: the timeout makes that a failure.
test("follow sends what is appended, and stops when aborted", { timeout: 15_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-log-"));
  try {
    const log = join(dir, "console.log");
    writeFileSync(log, "old\n");
    const ac = new AbortController();
    const it = fileLogs(log, { tail: 0, follow: true }, ac.signal)[Symbol.asyncIterator]();
    const next = it.next();
    // The follower starts from the size it reads first (tail 0, as tail -n0 -f): that read runs on
    // libuv's pool, so appending at once raced it, and a line counted into the start was never sent
    // (CI hung here). Append once the start is surely taken.
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(log, "new line\n");
    assert.equal((await next).value?.toString(), "new line\n");
    ac.abort();
    assert.equal((await it.next()).done, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
