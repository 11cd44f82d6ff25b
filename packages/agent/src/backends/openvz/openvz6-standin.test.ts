// OpenVZ 6 as its sources describe it, through the vzctl STAND-IN (not OpenVZ): state from
// /proc/vz/veinfo, usage from the beancounters and fairsched, paths from vz.conf (upstream /vz on
// one host, Debian's /var/lib/vz on the other), vzctl's exit codes, and a migration at vzmigrate's
// level (quota init, action scripts, IP pre-check, renumbered NETIF, symlinked private area).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCollect } from "../conformance/harness.js";
import { createOpenvzBackend } from "./index.js";
import { parseBcResources, parseUserBeancounters, parseVeinfo } from "./proc-files.js";
import { busyboxSpec, removeStandinHost, STANDIN_DIR, STANDIN_VZCTL, STANDIN_VZLIST, standinHost, standinSkipReason, type StandinHost } from "../../test-support/openvz-standin.js";

const MiB = 1024 * 1024;

describe("openvz 6 interfaces on the vzctl stand-in (not OpenVZ)", { skip: standinSkipReason() }, () => {
  let root: string;
  let up: StandinHost;
  let deb: StandinHost;
  const vzctl = (h: StandinHost, args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(STANDIN_VZCTL, args, { env: { ...h.env, ...env }, encoding: "utf8" });
  const vzdq = (h: StandinHost, tool: "vzdqdump" | "vzdqload", args: string[], input?: string) =>
    spawnSync(join(STANDIN_DIR, tool), args, { env: h.env, encoding: "utf8", ...(input === undefined ? {} : { input }) });

  before(() => {
    root = mkdtempSync(join(tmpdir(), "corral-ovz6-"));
    up = standinHost(root, `ovzup-${process.pid}`, "upstream");
    deb = standinHost(root, `ovzdeb-${process.pid}`, "debian");
  });
  after(() => {
    removeStandinHost(up);
    removeStandinHost(deb);
    rmSync(root, { recursive: true, force: true });
  });

  test("stand-in: an upstream /vz host creates from a .tar.xz template; state and usage come from veinfo, bc and fairsched", async () => {
    assert.match((await up.backend.probe()).reason, /^stand-in, not OpenVZ: vzctl version 4\.9\.4/);
    const cache = join(up.vzBase, "template/cache");
    execFileSync("sh", ["-c", `gzip -dc busybox-standin.tar.gz | xz -0 > xzos.tar.xz`], { cwd: cache });
    await up.backend.create({ ...busyboxSpec("web", { memoryBytes: 64 * MiB, cpus: 1 }), template: "xzos" });
    assert.ok(existsSync(join(up.vzBase, "private/101/sbin/init")), "private area under /vz/private");
    assert.match(readFileSync(join(up.vzRoot, "etc/vz/conf/101.conf"), "utf8"), /^SWAPPAGES="0:0"$/m);
    const st = await up.backend.start("web");
    assert.equal(st.state, "running");
    const veinfo = parseVeinfo(readFileSync(join(up.procRoot, "vz/veinfo"), "utf8"));
    assert.ok((veinfo.get(101)?.nproc ?? 0) >= 1);
    const bc = parseBcResources(readFileSync(join(up.procRoot, "bc/101/resources"), "utf8"));
    assert.equal(bc.get("physpages")?.limit, 16384);
    assert.ok(parseUserBeancounters(readFileSync(join(up.procRoot, "user_beancounters"), "utf8")).has(101));
    const procs = readFileSync(join(up.procRoot, "vz/fairsched/101/cgroup.procs"), "utf8").trim().split("\n").map(Number);
    assert.equal(st.initPid, procs[0]);
    const u = (await up.backend.usage()).find((c) => c.name === "web")!;
    assert.equal(u.state, "running");
    assert.ok(u.memoryBytes > 0 && u.pids >= 1 && u.cpuNanos > 0, JSON.stringify(u));
    assert.equal(u.memoryLimitBytes, 64 * MiB);
    assert.match(execFileSync(STANDIN_VZLIST, ["-H", "-o", "ctid,status"], { env: up.env }).toString(), /^\s+101 running$/m);
  });

  test("stand-in: exec2 says 3 when a signal kills the command; vzctl's exit codes reach the error", async () => {
    const r = await execCollect(up.backend, "web", ["sh", "-c", "kill -9 $$"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Got signal 9/);
    assert.equal((await execCollect(up.backend, "web", ["sh", "-c", "exit 137"])).code, 137);
    await up.backend.stop("web", 5);
    // --ram without SWAPPAGES: vzctl refuses to start (exit 28).
    const conf = join(up.vzRoot, "etc/vz/conf/101.conf");
    const text = readFileSync(conf, "utf8");
    writeFileSync(conf, text.replace(/^SWAPPAGES=.*\n/m, ""));
    await assert.rejects(up.backend.start("web"), /vzctl exit 28: not all required UBC parameters are set/);
    writeFileSync(conf, text);
  });

  test("stand-in: OpenVZ 7 is refused with the reason, and a host without veinfo is not OpenVZ", async () => {
    process.env.VZ_STANDIN_VERSION = "7.0.228";
    try {
      const seven = createOpenvzBackend(up.ctx, { vzctl: STANDIN_VZCTL, vzlist: STANDIN_VZLIST, vzRoot: up.vzRoot, procRoot: up.procRoot });
      assert.deepEqual(await seven.probe(), {
        available: false,
        reason: "vzctl 7.0.228 is OpenVZ 7 (ploop only, machine.slice cgroups): Corral supports OpenVZ 6 (vzctl 4.x) only",
      });
    } finally {
      delete process.env.VZ_STANDIN_VERSION;
    }
    const noKernel = createOpenvzBackend(up.ctx, { vzctl: STANDIN_VZCTL, vzlist: STANDIN_VZLIST, vzRoot: up.vzRoot, procRoot: "/proc" });
    assert.match((await noKernel.probe()).reason, /\/proc\/vz\/veinfo is missing: this is not an OpenVZ kernel/);
  });

  test("stand-in: migration /vz → /var/lib/vz as vzmigrate does it: symlinked private, action scripts, NETIF renumbered, quota init and per-UID/GID quotas", async () => {
    // The source's private area is a symlink to elsewhere; the CT has an IP, a veth and in-CT action scripts.
    const real = join(up.vzBase, "big-disk/101");
    mkdirSync(join(up.vzBase, "big-disk"), { recursive: true });
    renameSync(join(up.vzBase, "private/101"), real);
    symlinkSync(real, join(up.vzBase, "private/101"));
    writeFileSync(join(up.vzRoot, "etc/vz/conf/101.start"), "#!/bin/sh\necho started > /root/start-ran\n");
    await up.backend.start("web");
    assert.equal((await execCollect(up.backend, "web", ["sh", "-c", "echo data > /root/f && chown 1234:2345 /root/f"])).code, 0);
    await up.backend.stop("web", 5);
    // Set while stopped: the stand-in makes real veth pairs at start, and this test stays off the host's links.
    assert.equal(vzctl(up, ["set", "101", "--ipadd", "10.77.0.5", "--netif_add", "eth0", "--save"]).status, 0);
    // Second-level quota on (QUOTAUGIDLIMIT), initialised, with a user's and a group's quota in it.
    const conf101 = join(up.vzRoot, "etc/vz/conf/101.conf");
    writeFileSync(conf101, `${readFileSync(conf101, "utf8")}QUOTAUGIDLIMIT="100"\n`);
    assert.equal(vzctl(up, ["quotainit", "101"]).status, 0);
    const quotas = "ugid_quota_status:\t1\ngrace_time:\t0\t3600\t7200\ngrace_time:\t1\t604800\t604800\nugid_number:\t2\n" +
      "ugid:\t1234\t0\t1000\t2000\t10\t20\t0\t0\nugid:\t2345\t1\t5000\t6000\t0\t0\t0\t0\n";
    assert.equal(vzdq(up, "vzdqload", ["101", "-U", "-G", "-T"], quotas).status, 0);
    const dumped = vzdq(up, "vzdqdump", ["101", "-U", "-G", "-T"]).stdout;
    assert.match(dumped, /^ugid:\t1234\t0\t1000\t2000\t10\t20\t0\t0$/m);
    await deb.backend.create(busyboxSpec("other")); // CTID 101 is taken on the target
    // An IP already held on the target is refused before anything is installed.
    assert.equal(vzctl(deb, ["set", "101", "--ipadd", "10.77.0.5", "--save"]).status, 0);
    const move = async () => {
      const out = await up.backend.archive("web");
      mkdirSync(deb.backend.stagingRoot(), { recursive: true });
      const staging = mkdtempSync(join(deb.backend.stagingRoot(), "m-"));
      try {
        await deb.backend.stageRestore("web", out.format, out.stream, staging);
        await out.finished;
        return await deb.backend.commitRestore("web", staging);
      } finally {
        out.stream.destroy();
        rmSync(staging, { recursive: true, force: true });
      }
    };
    await assert.rejects(move(), /IP address 10\.77\.0\.5 of container "web" is already in use on ovzdeb-\d+ by CT 101/);
    assert.equal(vzctl(deb, ["set", "101", "--ipdel", "all", "--save"]).status, 0);
    const st = await move();
    assert.equal(st.state, "stopped");
    const conf = readFileSync(join(deb.vzRoot, "etc/vz/conf/102.conf"), "utf8");
    assert.match(conf, new RegExp(`^VE_PRIVATE="${deb.vzBase}/private/\\$VEID"$`, "m"));
    assert.match(conf, /host_ifname=veth102\.0/);
    assert.doesNotMatch(conf, /veth101/);
    assert.equal(readFileSync(join(deb.vzRoot, "etc/vz/conf/102.start"), "utf8"), readFileSync(join(up.vzRoot, "etc/vz/conf/101.start"), "utf8"));
    assert.match(readFileSync(join(deb.vzRoot, "var/vzquota/quota.102"), "utf8"), /^DISKSPACE=2G:2.2G$/m);
    // vzdqload on the target after quotainit: the same per-UID/GID quotas and grace times.
    assert.equal(vzdq(deb, "vzdqdump", ["102", "-U", "-G", "-T"]).stdout, dumped);
    assert.equal(execFileSync("stat", ["-c", "%u:%g %F", join(deb.vzBase, "private/102/root/f")]).toString().trim(), "1234:2345 regular file");
    assert.equal(vzctl(deb, ["set", "102", "--netif_del", "all", "--save"]).status, 0);
    await deb.backend.start("web");
    assert.deepEqual(await execCollect(deb.backend, "web", ["cat", "/root/f"]), { stdout: "data\n", stderr: "", code: 0 });
    await deb.backend.remove("web");
  });

  test("stand-in: a host-side action script moves only to a host that trusts its peers'; a stop killed before unmount is cleaned by vzctl umount", async () => {
    writeFileSync(join(up.vzRoot, "etc/vz/conf/101.mount"), "#!/bin/sh\ntouch /tmp/pwned\n");
    const out = await up.backend.archive("web");
    mkdirSync(deb.backend.stagingRoot(), { recursive: true });
    const staging = mkdtempSync(join(deb.backend.stagingRoot(), "m-"));
    // The archive carries every action script, as vzmigrate copies them; a host that does not trust
    // its peers' (the default) refuses the CT, naming the script, and installs nothing.
    await deb.backend.stageRestore("web2", out.format, out.stream, staging);
    await out.finished;
    assert.equal(readFileSync(join(staging, "etc/vz/conf/101.mount"), "utf8"), "#!/bin/sh\ntouch /tmp/pwned\n");
    await assert.rejects(deb.backend.commitRestore("web2", staging), /host-side action script "101\.mount".*--openvz-host-scripts install/);
    assert.equal(existsSync(join(deb.vzRoot, "etc/vz/conf/101.mount")), false);
    // An agent started with --openvz-host-scripts install carries it as vzmigrate does.
    const trusting = createOpenvzBackend(deb.ctx, { vzctl: STANDIN_VZCTL, vzlist: STANDIN_VZLIST, vzRoot: deb.vzRoot, procRoot: deb.procRoot, cgroupPrefix: deb.cgroupPrefix, hostScripts: "install" });
    await trusting.commitRestore("web2", staging);
    const moved = readdirSync(join(deb.vzRoot, "etc/vz/conf")).filter((f) => f.endsWith(".mount"));
    assert.equal(moved.length, 1);
    assert.equal(readFileSync(join(deb.vzRoot, "etc/vz/conf", moved[0]!), "utf8"), "#!/bin/sh\ntouch /tmp/pwned\n");
    await trusting.remove("web2");
    rmSync(staging, { recursive: true, force: true });
    assert.equal(vzctl(up, ["set", "101", "--netif_del", "all", "--save"]).status, 0);
    await up.backend.start("web");
    const killed = vzctl(up, ["stop", "101"], { STANDIN_DIE_BEFORE_UMOUNT: "1" });
    assert.equal(killed.status, 137);
    assert.match(vzctl(up, ["status", "101"]).stdout, /^CTID 101 exist mounted down$/m);
    assert.equal(vzctl(up, ["destroy", "101"]).status, 41);
    await up.backend.remove("web");
    assert.equal(existsSync(join(up.vzRoot, "etc/vz/conf/101.conf")), false);
  });
});
