// The OpenVZ backend against the vzctl/vzlist STAND-IN (deploy/openvz-standin), on two emulated hosts
// (two VZ_ROOTs). What a user of OpenVZ would check: vzlist, CTID.conf, the private area.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCollect } from "../conformance/harness.js";
import { OPENVZ_ARCHIVE_FORMAT } from "./index.js";
import type { OpenvzBackend } from "./openvz-backend.js";
import { buildBusyboxRootfs } from "../../test-support/busybox-rootfs.js";
import { testSpec } from "../../test-support/context.js";
import { busyboxSpec, removeStandinHost, STANDIN_VZCTL, STANDIN_VZLIST, standinHost, standinSkipReason, type StandinHost } from "../../test-support/openvz-standin.js";

const MiB = 1024 * 1024;
const skip = standinSkipReason();

describe("openvz backend on the vzctl stand-in", { skip }, () => {
  let root: string;
  let h1: StandinHost;
  let h2: StandinHost;
  const vzlist = (h: StandinHost, ...args: string[]) => execFileSync(STANDIN_VZLIST, args, { env: h.env, stdio: ["ignore", "pipe", "ignore"] }).toString();

  before(() => {
    root = mkdtempSync(join(tmpdir(), "corral-ovz-"));
    h1 = standinHost(root, `ovz1-${process.pid}`);
    h2 = standinHost(root, `ovz2-${process.pid}`);
  });
  after(() => {
    removeStandinHost(h1);
    removeStandinHost(h2);
    rmSync(root, { recursive: true, force: true });
  });

  test("stand-in: probe says it is the stand-in, and an absent vzctl is named", async () => {
    const p = await h1.backend.probe();
    assert.equal(p.available, true);
    assert.match(p.reason, /stand-in/);
    const { createOpenvzBackend } = await import("./index.js");
    const none = await createOpenvzBackend(h1.ctx, { vzctl: "/nonexistent/vzctl" }).probe();
    assert.deepEqual(none, { available: false, reason: "vzctl not found (/nonexistent/vzctl)" });
  });

  test("stand-in: create maps the name to a CTID, saves limits in CTID.conf, and vzlist shows it stopped", async () => {
    const st = await h1.backend.create(busyboxSpec("web", { memoryBytes: 64 * MiB, cpus: 1 }));
    assert.deepEqual(st.limits, { memoryBytes: 64 * MiB, cpus: 1 });
    const ctids = JSON.parse(readFileSync(join(h1.ctx.stateDir, "openvz/ctids.json"), "utf8"));
    assert.deepEqual(ctids, { containers: { web: 101 } });
    const conf = readFileSync(join(h1.vzRoot, "etc/vz/conf/101.conf"), "utf8");
    assert.match(conf, /^PHYSPAGES="0:16384"$/m);
    assert.match(conf, /^CPUS="1"$/m);
    assert.match(conf, /^NAME="web"$/m);
    assert.match(conf, /^OSTEMPLATE="busybox-standin"$/m);
    assert.match(vzlist(h1, "-a", "-H", "-o", "ctid,status,name"), /^\s+101 stopped\s+web$/m);
  });

  test("stand-in: start runs init in the CT's cgroup with the memory limit; exec and usage see it", async () => {
    const st = await h1.backend.start("web");
    assert.equal(st.state, "running");
    assert.ok(st.initPid > 0);
    const cg = `/sys/fs/cgroup/memory/${h1.cgroupPrefix}/101`;
    assert.equal(readFileSync(`${cg}/memory.limit_in_bytes`, "utf8").trim(), String(64 * MiB));
    assert.equal(readFileSync(`/proc/${st.initPid}/cmdline`, "utf8").split("\0")[1], "/sbin/init");
    const r = await execCollect(h1.backend, "web", ["sh", "-c", "echo \"$1\"; hostname; exit 7", "sh", "it's quoted"]);
    assert.deepEqual(r, { stdout: "it's quoted\nweb\n", stderr: "", code: 7 });
    const u = (await h1.backend.usage()).find((c) => c.name === "web");
    assert.equal(u?.state, "running");
    assert.ok(u!.pids >= 2 && u!.cpuNanos > 0 && u!.memoryLimitBytes === 64 * MiB);
    assert.match(vzlist(h1, "-H", "-o", "ctid,status"), /^\s+101 running$/m);
  });

  test("stand-in: live limits go to the cgroup and to CTID.conf (vzctl set --save)", async () => {
    await h1.backend.setLimits("web", { memoryBytes: 128 * MiB, cpus: 0.5 });
    assert.equal(readFileSync(`/sys/fs/cgroup/memory/${h1.cgroupPrefix}/101/memory.limit_in_bytes`, "utf8").trim(), String(128 * MiB));
    assert.equal(readFileSync(`/sys/fs/cgroup/cpu/${h1.cgroupPrefix}/101/cpu.cfs_quota_us`, "utf8").trim(), "50000");
    assert.deepEqual((await h1.backend.inspect("web")).limits, { memoryBytes: 128 * MiB, cpus: 0.5 });
    assert.match(readFileSync(join(h1.vzRoot, "etc/vz/conf/101.conf"), "utf8"), /^CPULIMIT="50"$/m);
  });

  test("stand-in: a CT whose init ignores halt is killed once the stop timeout passes", async () => {
    // Replace init with one that ignores halt's signal, then restart into it.
    await h1.backend.stop("web", 10);
    const init = join(h1.vzRoot, "var/lib/vz/private/101/sbin/init");
    const orig = readFileSync(init);
    writeFileSync(init, "#!/bin/sh\ntrap '' USR1 USR2 TERM INT HUP\nwhile :; do sleep 1; done\n");
    await h1.backend.start("web");
    const t0 = Date.now();
    assert.equal((await h1.backend.stop("web", 1)).state, "stopped");
    const took = Date.now() - t0;
    assert.ok(took >= 1000 && took < 4000, `stop took ${took} ms`);
    writeFileSync(init, orig);
  });

  test("stand-in: errors say what is wrong", async () => {
    await assert.rejects(h1.backend.create(busyboxSpec("web")), { code: "already_exists", message: 'container "web" already exists' });
    await assert.rejects(h1.backend.start("nope"), { code: "not_found", message: `container "nope" not found on ${h1.hostName}` });
    await assert.rejects(h1.backend.create({ ...busyboxSpec("x"), template: "centos-5" }), { code: "invalid_argument" });
    await assert.rejects(h1.backend.create({ ...busyboxSpec("x"), cmd: ["sleep", "1"] }), { code: "invalid_argument" });
    await assert.rejects(execCollect(h1.backend, "web", ["true"]), { code: "failed_precondition" });
    const staging = mkdtempSync(join(tmpdir(), "corral-ovz-stage-"));
    await assert.rejects(h2.backend.stageRestore("web", "lxc-dir-tar/1", (await import("node:stream")).Readable.from([]), staging), {
      code: "invalid_argument",
    });
    rmSync(staging, { recursive: true, force: true });
  });

  test("stand-in: migration is stop, tar of private + CTID.conf, extract, start — on another CTID when taken", async () => {
    // Host 2 already uses CTID 101, so the restored CT must get another one.
    await h2.backend.create(busyboxSpec("other"));
    await h1.backend.setLimits("web", { memoryBytes: 96 * MiB, cpus: 1 });
    await h1.backend.start("web");
    const w = await execCollect(h1.backend, "web", ["sh", "-c", "mkdir -p /srv && echo hi > /srv/f && chown 1234:2345 /srv/f"]);
    assert.equal(w.code, 0, w.stderr);
    await h1.backend.stop("web", 10);
    const out = await h1.backend.archive("web");
    assert.equal(out.format, OPENVZ_ARCHIVE_FORMAT);
    mkdirSync(h2.backend.stagingRoot(), { recursive: true });
    const staging = mkdtempSync(join(h2.backend.stagingRoot(), "m-"));
    await h2.backend.stageRestore("web", out.format, out.stream, staging);
    await out.finished;
    const st = await h2.backend.commitRestore("web", staging);
    rmSync(staging, { recursive: true, force: true });
    assert.equal(st.state, "stopped");
    assert.deepEqual(st.limits, { memoryBytes: 96 * MiB, cpus: 1 });
    const conf = readFileSync(join(h2.vzRoot, "etc/vz/conf/102.conf"), "utf8");
    assert.match(conf, new RegExp(`^VE_PRIVATE="${h2.vzRoot}/var/lib/vz/private/\\$VEID"$`, "m"));
    assert.match(conf, /^NAME="web"$/m);
    assert.match(vzlist(h2, "-a", "-H", "-o", "ctid,status,name"), /^\s+102 stopped\s+web$/m);
    assert.equal(execFileSync("stat", ["-c", "%u:%g", join(h2.vzRoot, "var/lib/vz/private/102/srv/f")]).toString().trim(), "1234:2345");
    await h2.backend.start("web");
    const r = await execCollect(h2.backend, "web", ["sh", "-c", "cat /srv/f; stat -c %u:%g /srv/f"]);
    assert.deepEqual(r, { stdout: "hi\n1234:2345\n", stderr: "", code: 0 });
    // The stand-in's own commands see it by name too.
    assert.match(execFileSync(STANDIN_VZCTL, ["status", "web"], { env: h2.env }).toString(), /^CTID 102 exist mounted running$/m);
  });

  test("stand-in: an image is kept as an OS template vzctl reads (zstd decompressed to NAME.tar, gzip as NAME.tar.gz) and a CT is made from it", async () => {
    const vz = h1.backend as OpenvzBackend;
    const rootfs = buildBusyboxRootfs({ bootable: true });
    const zst = `${rootfs.tarball}.zst`;
    execFileSync("zstd", ["-q", "-f", rootfs.tarball, "-o", zst]);
    const cache = join(h1.vzBase, "template/cache");
    try {
      const info = await vz.importImage("sys:1", createReadStream(zst));
      const sha = execFileSync("sha256sum", [zst]).toString().split(" ")[0];
      // The SHA-256 is the bytes' that arrived (the controller's record); the template is plain tar.
      assert.deepEqual([info.backend, info.id], ["openvz", `sha256:${sha}`]);
      assert.equal(execFileSync("tar", ["-tf", join(cache, "sys_1.tar")]).toString().includes("./sbin/init"), true);
      const gz = buildBusyboxRootfs({ bootable: true, gzip: true });
      await vz.importImage("sysgz", createReadStream(gz.tarball));
      gz.cleanup();
      assert.deepEqual([existsSync(join(cache, "sysgz.tar.gz")), existsSync(join(cache, "sysgz.tar"))], [true, false]);
      assert.deepEqual((await vz.listImages()).map((i) => i.name).sort(), ["sys:1", "sysgz"]);

      await assert.rejects(h1.backend.create(testSpec("openvz", "both", { image: "sys:1", template: "busybox-standin" })), { code: "invalid_argument" });
      await assert.rejects(h1.backend.create(testSpec("openvz", "none", { image: "nope" })), { code: "failed_precondition", message: /image "nope" is not on host/ });
      await h1.backend.create(testSpec("openvz", "fromimg", { image: "sys:1" }));
      const ctid = (JSON.parse(readFileSync(join(h1.ctx.stateDir, "openvz/ctids.json"), "utf8")) as { containers: Record<string, number> }).containers.fromimg;
      assert.match(readFileSync(join(h1.vzRoot, "etc/vz/conf", `${ctid}.conf`), "utf8"), /^OSTEMPLATE="sys_1"$/m);
      await h1.backend.start("fromimg");
      const r = await execCollect(h1.backend, "fromimg", ["sh", "-c", "tail -n 1 /etc/inittab"]);
      assert.deepEqual(r, { stdout: "::respawn:/bin/sleep 1000000\n", stderr: "", code: 0 });
      await h1.backend.remove("fromimg");

      await vz.removeImage("sys:1");
      await vz.removeImage("sysgz");
      assert.deepEqual([existsSync(join(cache, "sys_1.tar")), existsSync(join(cache, "sysgz.tar.gz")), await vz.listImages()], [false, false, []]);
      await assert.rejects(vz.removeImage("sys:1"), { code: "not_found" });
    } finally {
      rootfs.cleanup();
      rmSync(zst, { force: true });
    }
  });

  test("stand-in: destroy removes the CT, its private area and the mapping; list shows only this host's CTs", async () => {
    await h2.backend.remove("web");
    await h1.backend.remove("web");
    assert.deepEqual((await h2.backend.list()).map((c) => c.name), ["other"]);
    assert.deepEqual(await h1.backend.list(), []);
    assert.throws(() => readFileSync(join(h1.vzRoot, "etc/vz/conf/101.conf")));
    await assert.rejects(h1.backend.inspect("web"), { code: "not_found" });
  });
});
