import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { Readable } from "node:stream";
import { checkMemberPath } from "./tar-guard.js";
import { extractTarSafely } from "./safe-extract.js";
import { createTarStream } from "./tar-stream.js";
import { ustar } from "./test-ustar.js";

const tmp = () => mkdtempSync(join(tmpdir(), "corral-tar-"));

test("member paths: relative paths pass, absolute and .. are refused", () => {
  assert.equal(checkMemberPath("./rootfs/etc/passwd"), "rootfs/etc/passwd");
  assert.equal(checkMemberPath("c1/"), "c1");
  assert.throws(() => checkMemberPath("/etc/passwd"), /absolute path/);
  assert.throws(() => checkMemberPath("c1/../../etc/passwd"), /contains "\.\."/);
});

test("a real container-like tree round-trips with owners, long names and symlinks intact", async () => {
  const src = tmp();
  const root = join(src, "c1", "rootfs");
  const deep = join(root, "a".repeat(60), "b".repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "file-with-a-long-name-" + "x".repeat(80)), "payload");
  writeFileSync(join(root, "owned"), "mine");
  execFileSync("chown", ["1234:2345", join(root, "owned")]);
  symlinkSync("/bin/busybox", join(root, "sh")); // absolute symlinks are normal inside a rootfs
  const dest = tmp();
  const { stream, finished } = createTarStream(src, ["c1"]);
  const r = await extractTarSafely(stream, dest);
  await finished;
  assert.ok(r.members >= 6);
  assert.equal(readFileSync(join(dest, "c1/rootfs/owned"), "utf8"), "mine");
  assert.equal(execFileSync("stat", ["-c", "%u:%g", join(dest, "c1/rootfs/owned")]).toString().trim(), "1234:2345");
  assert.equal(readdirSync(join(dest, "c1/rootfs", "a".repeat(60), "b".repeat(60))).length, 1);
});

for (const [what, entries, message] of [
  ["an absolute path", [{ name: "/tmp/corral-evil", data: "x" }], /absolute path/],
  ["a .. path", [{ name: "c1/../../corral-evil", data: "x" }], /contains "\.\."/],
  ["a hard link out of the tree", [{ name: "c1/passwd", type: "1", link: "../../etc/passwd" }], /hard link target/],
  [
    "a member written through a symlink",
    [
      { name: "c1/escape", type: "2", link: "/tmp" },
      { name: "c1/escape/corral-evil", data: "x" },
    ],
    /goes through symlink "c1\/escape"/,
  ],
] as const) {
  test(`an archive with ${what} is refused and nothing lands outside`, async () => {
    const dest = tmp();
    await assert.rejects(extractTarSafely(Readable.from([ustar([...entries])]), dest), message);
    assert.equal(existsSync("/tmp/corral-evil"), false);
  });
}

test("a truncated archive is refused", async () => {
  const full = ustar([{ name: "c1/f", data: "x".repeat(2000) }]);
  await assert.rejects(extractTarSafely(Readable.from([full.subarray(0, 1200)]), tmp()), /truncated/);
});

test("a corrupt header is refused", async () => {
  const bad = ustar([{ name: "c1/f", data: "x" }]);
  bad[0] = 0x41; // breaks the checksum
  await assert.rejects(extractTarSafely(Readable.from([bad]), tmp()), /bad checksum/);
});
