import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { checkMemberPath, TarGuard } from "./tar-guard.js";
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

test("GNU tar's own archive passes byte for byte: hard links, user xattrs, setuid, FIFOs, deep trees", async () => {
  const src = tmp();
  const root = join(src, "c1", "rootfs");
  mkdirSync(join(root, "bin"), { recursive: true });
  writeFileSync(join(root, "bin", "busybox"), "#!/bin/sh\n");
  execFileSync("chmod", ["4755", join(root, "bin", "busybox")]);
  execFileSync("ln", [join(root, "bin", "busybox"), join(root, "bin", "init")]);
  execFileSync("setfattr", ["-n", "user.corral", "-v", "kept", join(root, "bin", "busybox")]);
  execFileSync("mkfifo", [join(root, "fifo")]);
  mkdirSync(join(root, ...Array.from({ length: 300 }, () => "d")), { recursive: true });
  const tarred = execFileSync("tar", ["-c", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "-f", "-", "-C", src, "c1"], { maxBuffer: 64 << 20 });
  const guard = new TarGuard({ setid: "allow" });
  const out: Buffer[] = [];
  guard.on("data", (d: Buffer) => out.push(d));
  await pipeline(Readable.from([tarred]), guard);
  const emitted = Buffer.concat(out);
  // What tar wrote, up to its end marker; the rest of its record is zeros.
  assert.deepEqual(emitted, tarred.subarray(0, emitted.length));
  assert.ok(tarred.subarray(emitted.length).every((b) => b === 0));
  // One setuid file; its second name is a hard link to it (readdir order decides which comes first).
  assert.equal(guard.setid.length, 1);
  assert.match(guard.setid[0]!.path, /^c1\/rootfs\/bin\/(busybox|init)$/);
  assert.equal(guard.setid[0]!.mode, 0o4755);
  const dest = tmp();
  await extractTarSafely(Readable.from([tarred]), dest, { setid: "allow" });
  assert.equal(execFileSync("stat", ["-c", "%h %a", join(dest, "c1/rootfs/bin/init")]).toString().trim(), "2 4755");
  assert.equal(execFileSync("getfattr", ["--only-values", "-n", "user.corral", join(dest, "c1/rootfs/bin/busybox")]).toString(), "kept");
});

test("setuid files are refused unless the policy lets them through", async () => {
  const a = ustar([{ name: "c1/suid", data: "x", mode: 0o4755 }]);
  await assert.rejects(extractTarSafely(Readable.from([a]), tmp()), /"c1\/suid" is setuid\/setgid/);
});

test("checking takes time linear in the input: 2 000 members 2 000 levels deep", async () => {
  // A per-ancestor prefix check would cost depth² per member here (about 10^10 steps: minutes);
  // the trie walks each path once (about 10^7 steps).
  const deep = Array.from({ length: 2000 }, () => "a").join("/");
  const entries = [{ name: "d", type: "5", pax: { path: `${deep}/` } }, ...Array.from({ length: 2000 }, (_, i) => ({ name: "f", pax: { path: `${deep}/f${i}` } }))];
  const archive = ustar(entries);
  const started = Date.now();
  const guard = new TarGuard();
  guard.resume();
  await pipeline(Readable.from([archive]), guard);
  assert.equal(guard.members, 2001);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

test("ACLs pass as text (GNU tar) and as the binary xattr bytes LXD's backups write; a NUL elsewhere does not", async () => {
  const check = async (pax: Record<string, string>) => {
    const guard = new TarGuard();
    guard.resume();
    await pipeline(Readable.from([ustar([{ name: "f", data: "x", pax: { path: "f", ...pax } }])]), guard);
    return guard.members;
  };
  assert.equal(await check({ "SCHILY.acl.access": "user::rwx,group::r-x,other::r-x" }), 1);
  assert.equal(await check({ "SCHILY.acl.access": "\x02\0\0\0\x01\0\x07\0\xff\xff\xff\xff" }), 1);
  assert.equal(await check({ "SCHILY.acl.default": "\x02\0\0\0" }), 1);
  await assert.rejects(check({ uname: "ro\0ot" }), /pax value of "uname" contains a NUL byte/);
});
