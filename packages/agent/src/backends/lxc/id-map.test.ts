import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, writeFile, lchown } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostIdMap, idMapLines, idMapOfConfig, shiftId, shiftOwners, subordinateStart } from "./id-map.js";

test("the first range of the user (by name or uid) with 65536 ids above host root's ids is taken", () => {
  const text = "# comment\n_lxd:100000:10000001\nroot:1000:65536\nroot:200000:1000\nroot:300000:65536\n0:400000:65536\n";
  assert.equal(subordinateStart(text, "root", 0), 300000);
  assert.equal(subordinateStart("0:400000:65536\n", "root", 0), 400000);
  assert.equal(subordinateStart("alice:100000:65536\n", "root", 0), undefined);
});

test("no range: a clear error that names the file and the way out", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idmap-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "subuid"), "root:100000:65536\n");
  await writeFile(join(dir, "subgid"), "");
  await assert.rejects(hostIdMap({ subuid: join(dir, "subuid"), subgid: join(dir, "subgid") }), /no subordinate id range .* in .*subgid: add one .*--privileged/);
  await writeFile(join(dir, "subgid"), "root:200000:65536\n");
  assert.deepEqual(await hostIdMap({ subuid: join(dir, "subuid"), subgid: join(dir, "subgid") }), { uid: 100000, gid: 200000, count: 65536 });
});

test("a config's id map is read back from the lines create writes; none means privileged", () => {
  const m = { uid: 100000, gid: 200000, count: 65536 };
  const text = `lxc.uts.name = x\n${idMapLines(m).map(([k, v]) => `${k} = ${v}`).join("\n")}\n`;
  assert.deepEqual(idMapOfConfig(text), m);
  assert.equal(idMapOfConfig("lxc.uts.name = x\n"), undefined);
});

test("ids shift between ranges; an id outside the source map becomes the target's nobody", () => {
  assert.equal(shiftId(100000, 100000, 300000, 65536), 300000);
  assert.equal(shiftId(100033, 100000, 300000, 65536), 300033);
  assert.equal(shiftId(0, 100000, 300000, 65536), 300000 + 65534);
  assert.equal(shiftId(165536, 100000, 300000, 65536), 300000 + 65534);
});

test("a rootfs moved to a host with another range is re-owned, setuid kept, symlinks not followed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idmap-"));
  const outside = await mkdtemp(join(tmpdir(), "idmap-outside-"));
  t.after(() => Promise.all([rm(dir, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]));
  const root = join(dir, "rootfs");
  await mkdir(join(root, "bin"), { recursive: true });
  await writeFile(join(root, "bin/su"), "x");
  await chmod(join(root, "bin/su"), 0o4755);
  await writeFile(join(outside, "victim"), "x");
  await symlink(join(outside, "victim"), join(root, "link"));
  for (const p of [root, join(root, "bin")]) await lchown(p, 100000, 100000);
  await lchown(join(root, "bin/su"), 100000, 100005);
  await lchown(join(root, "link"), 101000, 101000);
  await chmod(join(root, "bin/su"), 0o4755); // chown cleared it
  const n = await shiftOwners(root, { uid: 100000, gid: 100000, count: 65536 }, { uid: 300000, gid: 400000, count: 65536 });
  assert.equal(n, 4);
  const su = await lstat(join(root, "bin/su"));
  assert.deepEqual([su.uid, su.gid, su.mode & 0o7777], [300000, 400005, 0o4755]);
  const link = await lstat(join(root, "link"));
  assert.deepEqual([link.uid, link.gid], [301000, 401000]);
  const victim = await lstat(join(outside, "victim"));
  assert.deepEqual([victim.uid, victim.gid], [0, 0], "the symlink's target on the host is untouched");
  assert.equal((await lstat(root)).uid, 300000);
  assert.equal(await shiftOwners(root, { uid: 1, gid: 1, count: 65536 }, { uid: 1, gid: 1, count: 65536 }), 0);
});
