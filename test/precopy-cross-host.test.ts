// ct migrate --precopy on real LXC across two emulated hosts, through the CLI: the first pass copies
// while the container runs, files change under it, then the final pass must carry exactly those
// changes (added, modified, deleted, owner, mode, hard link, xattr). And a source agent killed during
// the first pass leaves one copy, running at the source, with no staging anywhere.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Container, Migration } from "@corral/wire";
import { REPO, TestCluster, eventually } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 22 });
const MiB = 1024 * 1024;

before(async () => {
  await cluster.up();
});
after(async () => {
  await cluster.down();
});

const rootfs = (host: string, name: string) => join(cluster.hostDir(host), "lxc", name, "rootfs");

/**
 * SHA-256 over a container's tree as its host holds it: paths, types, modes, owners, link counts,
 * contents, symlink targets, which paths share an inode (hard links), and user.* xattrs. What a
 * running system rewrites on its own (proc, sys, dev, run, tmp, logs) is left out.
 */
function treeDigest(root: string): string {
  const skip = new Set(["proc", "sys", "dev", "run", "tmp", "var/run", "var/log"]);
  const h = createHash("sha256");
  const inodes = new Map<number, string>();
  const paths: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${e}` : e;
      if (skip.has(r)) continue;
      const st = lstatSync(join(root, r));
      h.update(`${r}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.nlink}\0`);
      if (st.nlink > 1 && !st.isDirectory()) {
        const first = inodes.get(st.ino);
        if (first) h.update(`hardlink to ${first}\0`);
        else inodes.set(st.ino, r);
      }
      if (st.isSymbolicLink()) h.update(readlinkSync(join(root, r)));
      else {
        paths.push(r);
        if (st.isFile()) h.update(readFileSync(join(root, r)));
        else if (st.isDirectory()) walk(r);
      }
    }
  };
  walk("");
  const dump = execFileSync("getfattr", ["-P", "-h", "-d", ...paths], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  h.update(dump.split("\n\n").filter(Boolean).sort().join("\n\n"));
  return h.digest("hex");
}

/** The migration as `migration show --json` prints it (its exit code is 0 only once it is done). */
async function phaseOf(id: string): Promise<Migration> {
  const r = await cluster.cli(["migration", "show", id, "--json"]);
  return JSON.parse(r.stdout) as Migration;
}

async function create(name: string, fillMiB: number): Promise<void> {
  const c = await cluster.cli(["ct", "create", name, "--host", "host1", "--memory", "64M"]);
  assert.equal(c.code, 0, c.stderr);
  const setup = [
    `head -c ${fillMiB * MiB} /dev/urandom > /root/blob`,
    "echo before > /root/mod",
    "echo doomed > /root/gone",
    "echo mine > /root/own",
    "echo perm > /root/perm",
    "echo xattr > /root/xa",
  ].join("; ");
  const f = await cluster.cli(["ct", "exec", name, "--", "sh", "-c", setup]);
  assert.equal(f.code, 0, f.stderr);
}

/** Starts `ct migrate --precopy --detach` and returns once its first pass is under way. */
async function precopyStarted(name: string, bwlimit: string): Promise<string> {
  const r = await cluster.cli(["ct", "migrate", name, "--to", "host2", "--precopy", "--bwlimit", bwlimit, "--keep-source", "--detach", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const id = (JSON.parse(r.stdout) as Migration).id;
  await eventually(`${id} in its first pass`, async () => {
    const m = await phaseOf(id);
    return m.phase === "precopying" && m.bytes > 0;
  }, 20_000);
  return id;
}

async function ended(id: string): Promise<Migration> {
  return eventually(`migration ${id} ended`, async () => {
    const m = await phaseOf(id);
    return m.phase === "done" || m.phase === "rolled_back" ? m : undefined;
  }, 60_000);
}

test("--precopy: what changed while the first pass ran arrives; the target's tree equals the source's at stop time", async (t) => {
  t.after(() => cluster.cli(["ct", "rm", "pc1", "--force"]));
  await create("pc1", 8);
  const id = await precopyStarted("pc1", "1M");
  // While the first pass copies the 8 MiB blob (8 s at 1 MiB/s), the container changes one file of each kind (ct exec
  // waits for the migration: lxc-attach on its host, in that host's namespace, does not).
  execFileSync(join(REPO, "deploy/hx"), ["ct22h1", "lxc-attach", "-P", join(cluster.hostDir("host1"), "lxc"), "-n", "pc1", "--", "sh", "-c",
    "echo added > /root/added; echo after >> /root/mod; rm /root/gone; chown 1234:5678 /root/own; chmod 0604 /root/perm; ln /root/mod /root/mod-link"]);
  execFileSync("setfattr", ["-n", "user.moved", "-v", "with-precopy", join(rootfs("host1", "pc1"), "root/xa")]);
  assert.equal((await phaseOf(id)).phase, "precopying", "the changes were made during the first pass");

  const m = await ended(id);
  assert.equal(m.phase, "done", m.error);
  assert.equal(m.precopy, true);
  // Busybox and the blob made the first pass more than 8 MiB (CONVERGED_BYTES): a second live pass
  // sent what changed during it, which is little, so no third one followed.
  assert.equal(m.precopyPasses, 2, JSON.stringify(m));
  const show = await cluster.cli(["migration", "show", id]);
  assert.match(show.stdout, /^pre-copy: +2 live passes while it ran, then a final one stopped$/m);
  // The kept source is the tree at stop time: the target must hold exactly it.
  assert.equal(treeDigest(rootfs("host2", "pc1")), treeDigest(rootfs("host1", "pc1")), "target tree equals the source's at stop time");
  const target = rootfs("host2", "pc1");
  assert.equal(readFileSync(join(target, "root/added"), "utf8"), "added\n");
  assert.equal(readFileSync(join(target, "root/mod"), "utf8"), "before\nafter\n");
  assert.throws(() => lstatSync(join(target, "root/gone")), /ENOENT/);
  assert.equal(lstatSync(join(target, "root/mod-link")).ino, lstatSync(join(target, "root/mod")).ino, "the hard link is one file");
  assert.equal(lstatSync(join(target, "root/perm")).mode & 0o7777, 0o604);
  const own = lstatSync(join(target, "root/own"));
  const base = lstatSync(join(target, "root/mod"));
  // Owners inside the container are shifted by the id map: 1234:5678 inside, the same offset as root's.
  assert.deepEqual([own.uid - base.uid, own.gid - base.gid], [1234, 5678]);
  assert.match(execFileSync("getfattr", ["-n", "user.moved", join(target, "root/xa")], { encoding: "utf8" }), /with-precopy/);

  // Downtime split, on the record and in the list.
  assert.ok(m.downtimeMs > 0 && m.stopMs >= 0 && m.finalSyncMs > 0 && m.startMs > 0, JSON.stringify(m));
  assert.ok(m.downtimeMs >= m.stopMs + m.finalSyncMs + m.startMs, JSON.stringify(m));
  // Every byte moved counts, the passes' too; the 8 MiB blob moved once (the archive after the passes
  // is the container without its rootfs), not twice.
  assert.ok(m.bytes >= 8 * MiB && m.bytes < 10 * MiB, `bytes moved ${m.bytes}`);
  const list = await cluster.cli(["migration", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /DOWNTIME/i);

  const c = await cluster.json<Container>(["ct", "show", "pc1"]);
  assert.deepEqual([c.host, c.state], ["host2", "running"]);
  const finish = await cluster.cli(["migration", "finish", id]);
  assert.equal(finish.code, 0, finish.stderr);
  assert.deepEqual([cluster.lxcContainers("host1"), cluster.staging("host1"), cluster.staging("host2")], [[], [], []]);
});

test("--precopy: the source agent killed during the first pass leaves one copy, running at the source", async (t) => {
  t.after(() => cluster.cli(["ct", "rm", "pc2", "--force"]));
  await create("pc2", 8);
  const id = await precopyStarted("pc2", "1M");
  await cluster.script("kill-agent", "host1");
  const m = await ended(id);
  await cluster.script("start-agent", "host1");
  assert.equal(m.phase, "rolled_back");
  assert.equal(m.failedHost, "host1", "the error names the source");
  await eventually("pc2 running on host1, and the controller agrees", async () => {
    const c = await cluster.json<Container>(["ct", "show", "pc2"]);
    return c.host === "host1" && c.state === "running";
  }, 30_000);
  assert.deepEqual([cluster.lxcContainers("host1").includes("pc2"), cluster.lxcContainers("host2").includes("pc2")], [true, false], "exactly one copy, at the source");
  await eventually("no staging on either host", async () => cluster.staging("host1").length + cluster.staging("host2").length === 0, 20_000);
});
