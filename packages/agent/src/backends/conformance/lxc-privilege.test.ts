// LXC containers are unprivileged unless asked: the container's init runs on the host as a mapped,
// non-zero uid; with `privileged` it runs as host root. A move keeps the mapped owners, and the
// target refuses an archive that dropped the id map of a container not created privileged.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../process/run.js";
import { createLxcBackend } from "../lxc/index.js";
import { hostIdMap } from "../lxc/id-map.js";
import { testContext, testSpec } from "../../test-support/context.js";
import type { Backend } from "../backend.js";
import { execCollect } from "./harness.js";

/** The host uid the process `pid` runs as (real uid, from /proc). */
async function hostUid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

describe("lxc: unprivileged by default", async () => {
  const installed = (await run("lxc-create", ["--version"]).catch(() => undefined))?.code === 0;
  if (!installed) return void test("lxc privilege", { skip: "lxc-create is not installed" }, () => undefined);
  let root: string;
  let a: Backend;
  let b: Backend;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "corral-lxc-priv-"));
    // The mapped root must reach the rootfs through every directory above it (lxc-start says so otherwise).
    chmodSync(root, 0o711);
    const mk = (host: string) => createLxcBackend(testContext(host, join(root, host)), { lxcPath: join(root, host, "lxc") });
    a = mk(`priva${process.pid}`);
    b = mk(`privb${process.pid}`);
    await a.probe();
    await b.probe();
  });
  after(async () => {
    for (const be of [a, b]) for (const n of ["unpriv", "priv"]) await be.remove(n).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  test("init runs on the host as the mapped uid; root inside, files owned by mapped ids", async () => {
    const map = await hostIdMap();
    await a.create(testSpec("lxc", "unpriv", { template: "busybox" }));
    const st = await a.start("unpriv");
    const pid = st.initPid || (await a.inspect("unpriv")).initPid;
    assert.ok(pid > 0);
    assert.equal(await hostUid(pid), map.uid, "init's host uid is the start of the subordinate range");
    const id = await execCollect(a, "unpriv", ["id", "-u"]);
    assert.equal(id.stdout.trim(), "0", "root inside");
    assert.equal(statSync(join(root, `priva${process.pid}`, "lxc", "unpriv", "rootfs", "bin")).uid, map.uid);
  });

  test("--privileged: init runs as host root", async () => {
    await a.create(testSpec("lxc", "priv", { template: "busybox", privileged: true }));
    const st = await a.start("priv");
    const pid = st.initPid || (await a.inspect("priv")).initPid;
    assert.equal(await hostUid(pid), 0);
    await a.stop("priv", 0);
  });

  test("a move keeps the mapped owners; the init runs mapped on the target", async () => {
    const map = await hostIdMap();
    await a.stop("unpriv", 0);
    const out = await a.archive("unpriv");
    const staging = join(b.stagingRoot(), "mv1");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(staging, { recursive: true });
    await Promise.all([b.stageRestore("unpriv", out.format, out.stream, staging), out.finished]);
    await b.commitRestore("unpriv", staging);
    assert.equal(statSync(join(root, `privb${process.pid}`, "lxc", "unpriv", "rootfs", "bin")).uid, map.uid);
    const st = await b.start("unpriv");
    assert.equal(await hostUid(st.initPid || (await b.inspect("unpriv")).initPid), map.uid);
    await b.stop("unpriv", 0);
  });

  test("an archive without an id map is refused for a container not created privileged, taken when it was", async () => {
    const staging = join(b.stagingRoot(), "mv2");
    const { mkdir } = await import("node:fs/promises");
    const move = async (grants?: { privileged: boolean; nesting: boolean }) => {
      await mkdir(staging, { recursive: true });
      const out = await a.archive("priv");
      await Promise.all([b.stageRestore("priv", out.format, out.stream, staging, grants), out.finished]);
      return b.commitRestore("priv", staging, grants);
    };
    await assert.rejects(move(), /no id map .* not created --privileged/);
    rmSync(staging, { recursive: true, force: true });
    const st = await move({ privileged: true, nesting: false });
    assert.equal(st.state, "stopped");
  });
});
