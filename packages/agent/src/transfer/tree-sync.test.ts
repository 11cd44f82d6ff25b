// Pre-copy passes between two directories over a real socket: the rsync client on one end, rsync's
// chrooted daemon on the other (tree-sync.ts). What a second pass must carry, and what the target
// refuses in a synced tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSyncedTree, daemonConfig, receiveTree, sendTree } from "./tree-sync.js";

async function pass(src: string, tree: string, conf: string): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const out = connect((server.address() as AddressInfo).port, "127.0.0.1");
  const [inSock] = (await accepted) as [Socket];
  server.close();
  const rx = await receiveTree(inSock, tree, conf);
  let bytes = 0;
  await sendTree(out, src, { bwlimitBytesPerSecond: 0, signal: new AbortController().signal, onBytes: (n) => (bytes += n) });
  await rx.done;
  inSock.destroy();
  return bytes;
}

test("a second pass carries what changed: added, modified, deleted, owner, mode, hard link, xattr", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tree-sync-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  const tree = join(dir, "tree");
  mkdirSync(join(src, "d"), { recursive: true });
  writeFileSync(join(src, "big"), Buffer.alloc(2 << 20, 7));
  for (const f of ["mod", "gone", "own", "perm", "xa"]) writeFileSync(join(src, "d", f), `${f}\n`);
  const first = await pass(src, tree, join(dir, "conf"));
  assert.ok(first > 2 << 20, `first pass sent ${first} bytes`);

  writeFileSync(join(src, "d", "added"), "added\n");
  writeFileSync(join(src, "d", "mod"), "mod, changed\n");
  unlinkSync(join(src, "d", "gone"));
  chownSync(join(src, "d", "own"), 1234, 5678);
  chmodSync(join(src, "d", "perm"), 0o604);
  linkSync(join(src, "d", "mod"), join(src, "d", "mod-link"));
  execFileSync("setfattr", ["-n", "user.moved", "-v", "yes", join(src, "d", "xa")]);
  const second = await pass(src, tree, join(dir, "conf"));
  assert.ok(second < 1 << 20, `the second pass sent only the changes (${second} bytes)`);

  const d = join(tree, "d");
  assert.equal(readFileSync(join(d, "added"), "utf8"), "added\n");
  assert.equal(readFileSync(join(d, "mod"), "utf8"), "mod, changed\n");
  assert.throws(() => lstatSync(join(d, "gone")), /ENOENT/);
  assert.deepEqual([lstatSync(join(d, "own")).uid, lstatSync(join(d, "own")).gid], [1234, 5678]);
  assert.equal(lstatSync(join(d, "perm")).mode & 0o7777, 0o604);
  assert.equal(lstatSync(join(d, "mod-link")).ino, lstatSync(join(d, "mod")).ino);
  assert.match(execFileSync("getfattr", ["-n", "user.moved", join(d, "xa")], { encoding: "utf8" }), /user.moved="yes"/);
  assert.deepEqual(await checkSyncedTree(tree), []);
});

test("a synced tree with a device node or a file capability is refused; setuid files are listed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tree-check-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "suid"), "x");
  chmodSync(join(dir, "suid"), 0o4755);
  assert.deepEqual((await checkSyncedTree(dir)).map((f) => [f.path, f.mode]), [["suid", 0o4755]]);
  writeFileSync(join(dir, "cap"), "x");
  execFileSync("setfattr", ["-n", "security.capability", "-v", "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=", join(dir, "cap")]);
  await assert.rejects(checkSyncedTree(dir), /xattrs outside user\.\* on "\/?cap"/);
  unlinkSync(join(dir, "cap"));
  execFileSync("mknod", [join(dir, "null"), "c", "1", "3"]);
  await assert.rejects(checkSyncedTree(dir), /device node \("null"\)/);
});

test("the daemon's module is chrooted into the tree and refuses devices", () => {
  const conf = daemonConfig("/var/x/tree");
  assert.match(conf, /^path = \/var\/x\/tree$/m);
  assert.match(conf, /^use chroot = yes$/m);
  assert.match(conf, /^refuse options = devices/m);
  assert.throws(() => daemonConfig("/a\n[evil]"), /line break/);
});
