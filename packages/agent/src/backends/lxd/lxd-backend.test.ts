// The LXD backend against a real LXD daemon. Two backend instances with different host names
// share the one local daemon and stand for two hosts.
import { buildBusyboxRootfs } from "../../test-support/busybox-rootfs.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ContainerSpec, ExecOutput } from "@corral/wire";
import { createLxdBackend, type LxdBackend } from "./index.js";
import { LxdClient, httpStatusOf } from "./client.js";
import { ensureLxd, tarballStream } from "../../test-support/lxd.js";
import { testContext, testSpec } from "../../test-support/context.js";

const MiB = 1024 * 1024;
const IMAGE = "busybox-unit";

async function collect(it: AsyncIterable<ExecOutput>) {
  let stdout = "";
  let stderr = "";
  let code = -1;
  for await (const o of it) {
    if (o.kind === "stdout") stdout += o.data.toString();
    else if (o.kind === "stderr") stderr += o.data.toString();
    else code = o.code;
  }
  return { stdout, stderr, code };
}

const codeOf = (code: string, msg?: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, code, e.message);
  if (msg) assert.match(e.message, msg);
  return true;
};

const skip = await ensureLxd();

describe("LXD backend", { skip }, () => {
  let root: string;
  let a: LxdBackend;
  let b: LxdBackend;
  let rootfs: ReturnType<typeof buildBusyboxRootfs>;
  const fingerprints = new Set<string>();
  const spec = (name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec =>
    testSpec("lxd", name, { image: IMAGE, limits: { memoryBytes: 64 * MiB, cpus: 1 }, ...extra });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "corral-lxd-test-"));
    a = createLxdBackend(testContext(`lxta${process.pid}`, join(root, "a"))) as LxdBackend;
    b = createLxdBackend(testContext(`lxtb${process.pid}`, join(root, "b"))) as LxdBackend;
    for (const x of [a, b]) assert.deepEqual(await x.probe(), { available: true, reason: "" });
    rootfs = buildBusyboxRootfs({ bootable: true, gzip: true });
    for (const x of [a, b]) fingerprints.add((await x.importImage(IMAGE, tarballStream(rootfs.tarball))).id);
  });

  after(async () => {
    for (const x of [a, b]) {
      for (const c of await x.list()) await x.remove(c.name).catch(() => undefined);
    }
    for (const fp of fingerprints) await a.client.call("DELETE", `/1.0/images/${fp}`).catch(() => undefined);
    a.close();
    b.close();
    rootfs.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  test("probe names the missing socket", async () => {
    const x = createLxdBackend(testContext("nohost", root), { socketPath: "/nonexistent/lxd.sock" });
    assert.deepEqual(await x.probe(), { available: false, reason: "LXD socket /nonexistent/lxd.sock not found" });
  });

  test("--lxd-project: a missing project is named; in one, every call is scoped to it", async () => {
    const missing = createLxdBackend(testContext("nohost", root), { project: `corral-absent-${process.pid}` });
    assert.deepEqual(await missing.probe(), {
      available: false,
      reason: `LXD has no project "corral-absent-${process.pid}": create it with lxc project create corral-absent-${process.pid}`,
    });
    const project = `corral-unit-${process.pid}`;
    await a.client.call("POST", "/1.0/projects", { body: { name: project, config: { "features.profiles": "false", "features.images": "true" } } });
    try {
      const p = createLxdBackend(testContext(`lxtp${process.pid}`, join(root, "p")), { project }) as LxdBackend;
      assert.deepEqual(await p.probe(), { available: true, reason: "" });
      // The default project holds the rootfs image imported above; the new project has its own, empty image store.
      assert.ok((await a.client.call<string[]>("GET", "/1.0/images")).length > 0);
      assert.deepEqual(await p.client.call<string[]>("GET", "/1.0/images"), []);
      p.close();
    } finally {
      await a.client.call("DELETE", `/1.0/projects/${project}`);
    }
  });

  test("importing the same rootfs on two hosts gives one image under two host aliases", async () => {
    assert.equal(fingerprints.size, 1);
    const [fp] = [...fingerprints];
    const aliases = await a.client.call<{ name: string }[]>("GET", "/1.0/images/aliases?recursion=1");
    const names = aliases.map((x) => x.name);
    assert.ok(names.includes(`lxta${process.pid}-${IMAGE}`) && names.includes(`lxtb${process.pid}-${IMAGE}`), names.join(","));
    const info = await a.importImage(IMAGE, tarballStream(rootfs.tarball));
    assert.equal(info.id, fp);
    assert.ok(info.sizeBytes > 100_000);
  });

  test("a new rootfs under a name already imported: the alias moves, and the image it named goes unless another alias names it", async () => {
    const other = buildBusyboxRootfs({ gzip: true }); // not bootable: another rootfs, another fingerprint
    const gone = (fp: string) => assert.rejects(a.client.call("GET", `/1.0/images/${fp}`), (e) => httpStatusOf(e) === 404, `image ${fp} is still there`);
    const solo = `solo${process.pid}`;
    try {
      const [shared] = [...fingerprints] as [string];
      // Only solo named its first image: moving solo to another rootfs removes it.
      const first = (await a.importImage(solo, tarballStream(other.tarball))).id;
      const second = (await a.importImage(solo, tarballStream(rootfs.tarball))).id;
      fingerprints.add(first).add(second);
      assert.notEqual(first, second);
      await gone(first);
      await a.client.call("GET", `/1.0/images/${second}`);
      // b's alias still names the shared image when a's moves off it: the image stays.
      const moved = (await a.importImage(IMAGE, tarballStream(other.tarball))).id;
      fingerprints.add(moved);
      assert.notEqual(moved, shared);
      await a.client.call("GET", `/1.0/images/${shared}`);
      assert.equal((await a.importImage(IMAGE, tarballStream(rootfs.tarball))).id, shared);
      await gone(moved);
    } finally {
      await a.removeImage(solo).catch(() => undefined);
      other.cleanup();
    }
  });

  test("create refuses a missing image with a hint, and a spec without image", async () => {
    await assert.rejects(a.create(spec("ximg", { image: "no-such-image" })), codeOf("not_found", /corral image import/));
    await assert.rejects(a.create(spec("ximg", { image: "" })), codeOf("invalid_argument", /--image/));
    await assert.rejects(a.inspect("ximg"), codeOf("not_found"));
  });

  test("a container whose start fails (image without /sbin/init) is undone and leaves no instance", async () => {
    const noInit = buildBusyboxRootfs({ gzip: true });
    try {
      fingerprints.add((await a.importImage("noinit", tarballStream(noInit.tarball))).id);
    } finally {
      noInit.cleanup();
    }
    await a.create(spec("noinit", { image: "noinit" }));
    await assert.rejects(a.start("noinit"), codeOf("failed_precondition"));
    // What the controller does to undo a failed create+start: the delete must succeed at once.
    await a.remove("noinit");
    await assert.rejects(a.inspect("noinit"), codeOf("not_found"));
    const left = await a.client.call<string[]>("GET", "/1.0/instances");
    assert.equal(left.filter((i) => i.endsWith(`/lxta${process.pid}-noinit`)).length, 0, left.join(","));
  });

  test("the same name on two hosts sharing one daemon stays two containers", async () => {
    await a.create(spec("twin"));
    await b.create(spec("twin", { limits: { memoryBytes: 32 * MiB, cpus: 0 } }));
    assert.equal((await a.inspect("twin")).limits.memoryBytes, 64 * MiB);
    assert.equal((await b.inspect("twin")).limits.memoryBytes, 32 * MiB);
    await a.remove("twin");
    assert.equal((await a.list()).some((c) => c.name === "twin"), false);
    assert.equal((await b.list()).filter((c) => c.name === "twin").length, 1);
    await b.remove("twin");
    await assert.rejects(b.remove("twin"), codeOf("not_found", /container "twin" not found/));
  });

  test("environment from the spec reaches exec; fractional cpus and live limits persist", async () => {
    await a.create(spec("envy", { env: ["GREETING=hello world"] }));
    await assert.rejects(collect(a.exec("envy", ["true"], [], new AbortController().signal)), codeOf("failed_precondition"));
    await a.start("envy");
    const r = await collect(a.exec("envy", ["sh", "-c", 'echo "$GREETING $EXTRA"'], ["EXTRA=x"], new AbortController().signal));
    assert.deepEqual(r, { stdout: "hello world x\n", stderr: "", code: 0 });
    const st = await a.setLimits("envy", { memoryBytes: 80 * MiB, cpus: 0.5 });
    assert.deepEqual(st.limits, { memoryBytes: 80 * MiB, cpus: 0.5 });
    // LXD applies it to the running container's cgroup (v1 here: lxc.payload.<runtime name>).
    const cg = `/sys/fs/cgroup/memory/lxc.payload.lxta${process.pid}-envy/memory.limit_in_bytes`;
    if (existsSync(cg)) assert.equal(readFileSync(cg, "utf8").trim(), String(80 * MiB));
    await a.stop("envy", 10);
    await a.start("envy");
    assert.deepEqual((await a.inspect("envy")).limits, { memoryBytes: 80 * MiB, cpus: 0.5 });
    await assert.rejects(a.archive("envy"), codeOf("failed_precondition", /stopped/));
    await a.remove("envy");
  });

  test("a restore refuses an unknown format and a non-backup stream", async () => {
    const staging = mkdtempSync(join(root, "stage-"));
    await assert.rejects(a.stageRestore("x", "lxc-dir-tar/1", Readable.from([Buffer.from("x")]), staging), codeOf("invalid_argument"));
    await assert.rejects(
      a.stageRestore("x", "lxd-backup/1", Readable.from([Buffer.alloc(4096, 7)]), staging),
      codeOf("invalid_argument", /not an LXD backup/),
    );
  });

  test("migration through a backup keeps files, owners, limits and env; the target owns it under a new uuid", async () => {
    await a.create(spec("mover", { env: ["KEEP=me"], limits: { memoryBytes: 48 * MiB, cpus: 1 } }));
    await a.start("mover");
    const w = await collect(a.exec("mover", ["sh", "-c", "mkdir -p /srv && echo payload > /srv/f && chown 1234:2345 /srv/f"], [], new AbortController().signal));
    assert.equal(w.code, 0, w.stderr);
    await a.stop("mover", 10);
    const out = await a.archive("mover");
    assert.equal(out.format, "lxd-backup/1");
    mkdirSync(b.stagingRoot(), { recursive: true });
    const staging = mkdtempSync(join(b.stagingRoot(), "t-"));
    await b.stageRestore("mover", out.format, out.stream, staging);
    await out.finished;
    const srcRt = `lxta${process.pid}-mover`;
    assert.deepEqual(await a.client.call("GET", `/1.0/instances/${srcRt}/backups`), [], "the backup was deleted after export");
    const st = await b.commitRestore("mover", staging);
    rmSync(staging, { recursive: true, force: true });
    assert.equal(st.state, "stopped");
    assert.deepEqual(st.limits, { memoryBytes: 48 * MiB, cpus: 1 });
    assert.ok((await b.list()).some((c) => c.name === "mover"));
    await b.start("mover");
    const r = await collect(b.exec("mover", ["sh", "-c", 'stat -c %u:%g /srv/f; cat /srv/f; echo "$KEEP"'], [], new AbortController().signal));
    assert.deepEqual(r, { stdout: "1234:2345\npayload\nme\n", stderr: "", code: 0 });
    const client = new LxdClient();
    const src = await client.call<{ config: Record<string, string> }>("GET", `/1.0/instances/${srcRt}`);
    const dst = await client.call<{ config: Record<string, string> }>("GET", `/1.0/instances/lxtb${process.pid}-mover`);
    client.close();
    assert.equal(dst.config["user.corral.host"], `lxtb${process.pid}`);
    assert.notEqual(dst.config["volatile.uuid"], src.config["volatile.uuid"]);
    await assert.rejects(b.commitRestore("mover", staging), codeOf("already_exists"));
    await a.remove("mover");
    await b.remove("mover");
  });

  test("usage covers only this host's containers, from one API call", async () => {
    await a.create(spec("busy"));
    await b.create(spec("other"));
    await a.start("busy");
    await a.usage();
    await collect(a.exec("busy", ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], [], new AbortController().signal));
    const u = await a.usage();
    assert.deepEqual(u.map((x) => x.name), ["busy"]);
    const [row] = u;
    assert.ok(row && row.pids >= 1 && row.memoryBytes > 0 && row.cpuNanos > 0 && row.cpuPercent > 0, JSON.stringify(row));
    assert.equal(row?.memoryLimitBytes, 64 * MiB);
    await a.remove("busy");
    await b.remove("other");
  });
});
