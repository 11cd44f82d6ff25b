// Moving between runtimes through the CLI (issue 12): an OpenVZ container of the vzctl STAND-IN
// (not a real OpenVZ kernel) with files, owners, modes, limits, a running service, action scripts
// and per-UID/GID quotas first moves to another OpenVZ host as vzmigrate moves it (its CTID taken
// there, an address collision refused in pre-flight), then becomes an LXC container, then an LXD
// one (LXC → LXD, as lxc-to-lxd), and a second OpenVZ container goes straight to LXD; the same
// checks after each move.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 18 });
// LXD is one daemon for every cluster on this machine: names of our own.
const A = `cv-${process.pid}`;
const B = `cw-${process.pid}`;
// Holds CTID 101 on host2, so that A arrives there renumbered.
const X = `cx-${process.pid}`;

interface CtJson {
  host: string;
  backend: string;
  state: string;
  spec: { ipv4?: string; limits: { memoryBytes: number; cpus: number } };
}
interface MigrationJson {
  conversion?: { sourceBackend: string; targetBackend: string; carried: { key: string }[]; dropped: { key: string; detail: string }[] };
}

before(async () => {
  await cluster.up();
});
after(async () => {
  for (const n of [A, B, X]) await cluster.cli(["ct", "rm", "--force", n]);
  await cluster.down();
});

const ok = async (args: string[]) => {
  const r = await cluster.cli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};

/** An OpenVZ CT with a file of another owner and mode, 128M and 1 CPU, and httpd started by rc.local. */
async function openvzWithService(name: string): Promise<string> {
  await ok(["ct", "create", name, "--backend", "openvz", "--template", "busybox", "--host", "host1", "--memory", "128M", "--cpus", "1"]);
  const setup = [
    "mkdir -p /srv && echo converted > /srv/index.html && chown 1234:2345 /srv/index.html && chmod 640 /srv/index.html",
    // The service runs now and comes back with the init on the target (the template's init runs rc.local).
    "printf '#!/bin/sh\\nhttpd -p 8080 -h /srv\\n' > /etc/rc.local && chmod 755 /etc/rc.local && /etc/rc.local",
  ].join(" && ");
  await ok(["ct", "exec", name, "--", "sh", "-c", setup]);
  const r = await ok(["ct", "exec", name, "--", "sh", "-c", "pidof httpd >/dev/null && echo serving"]);
  assert.equal(r.stdout, "serving\n");
  return (await cluster.json<CtJson>(["ct", "show", name])).spec.ipv4 ?? "";
}

/** The stand-in's vzctl, vzdqdump or vzdqload against an emulated host, as its agent runs them. */
function standin(host: string, tool: "vzctl" | "vzdqdump" | "vzdqload", args: string[], input?: string): string {
  const vzRoot = join(cluster.hostDir(host), "vz");
  const env = {
    ...process.env,
    VZ_ROOT: vzRoot,
    VZ_PROC_ROOT: join(cluster.hostDir(host), "vzproc"),
    VZ_CGROUP_PREFIX: `vz/${host}-${createHash("sha256").update(vzRoot).digest("hex").slice(0, 8)}`,
  };
  const r = spawnSync(join(REPO, "deploy/openvz-standin", tool), args, { env, encoding: "utf8", ...(input === undefined ? {} : { input }) });
  assert.equal(r.status, 0, `${tool} ${args.join(" ")} on ${host}: ${r.stderr}`);
  return r.stdout;
}
const confDir = (host: string) => join(cluster.hostDir(host), "vz/etc/vz/conf");

/** The same checks on every runtime: data, owner and mode, the service, the memory limit, the address. */
async function sameContainer(name: string, host: string, backend: string, address: string): Promise<void> {
  const shown = await cluster.json<CtJson>(["ct", "show", name]);
  assert.deepEqual([shown.host, shown.backend, shown.state], [host, backend, "running"]);
  assert.equal(shown.spec.ipv4 ?? "", address, "the container keeps its pool address");
  const r = await ok(["ct", "exec", name, "--", "sh", "-c",
    "cat /srv/index.html; stat -c %u:%g:%a /srv/index.html; pidof httpd >/dev/null && echo serving; ip -4 -o addr show eth0 | grep -c " + address.replace(/\/\d+$/, "") + "; hostname"]);
  // The hostname is the CT's own (OpenVZ's HOSTNAME, LXC's lxc.uts.name, LXD's raw.lxc), not LXD's instance name.
  assert.equal(r.stdout, `converted\n1234:2345:640\nserving\n1\n${name}\n`);
  // The memory limit as the runtime holds it: LXC's cgroup (its fixed group on the host), LXD's instance config.
  // OpenVZ's: the physpages beancounter of the CT (pages) in the stand-in's /proc/bc.
  const memory =
    backend === "lxc"
      ? readFileSync(`/sys/fs/cgroup/memory/corral/${host}/${name}/memory.limit_in_bytes`, "utf8").trim()
      : backend === "lxd"
        ? execFileSync("lxc", ["config", "get", "--project", cluster.lxdProject, `${host}-${name}`, "limits.memory"], { encoding: "utf8" }).trim()
        : String(4096 * Number(/^\s*physpages\s+\d+\s+\d+\s+\d+\s+(\d+)/m.exec(readFileSync(join(cluster.hostDir(host), "vzproc/bc", String(ctidOf(host, name)), "resources"), "utf8"))?.[1]));
  assert.equal(memory, "134217728");
}

/** The CTID the agent of `host` gave container `name` (its state dir's ctids.json). */
function ctidOf(host: string, name: string): number {
  const map = JSON.parse(readFileSync(join(cluster.hostDir(host), "openvz/ctids.json"), "utf8")) as { containers: Record<string, number> };
  const ctid = map.containers[name];
  assert.ok(ctid, `no CTID for ${name} on ${host}`);
  return ctid;
}

const QUOTAS =
  "ugid_quota_status:\t1\n#grace_time:\ttype\tblock\tinode\ngrace_time:\t0\t3600\t7200\ngrace_time:\t1\t604800\t604800\nugid_number:\t2\n" +
  "#ugid:\tID\ttype\tbsoft\tbhard\tisoft\tihard\tbtime\titime\nugid:\t1234\t0\t1000\t2000\t10\t20\t0\t0\nugid:\t2345\t1\t5000\t6000\t0\t0\t0\t0\n";

describe("moving between runtimes: OpenVZ (stand-in, not OpenVZ) → OpenVZ → LXC → LXD, OpenVZ → LXD", () => {
  test("OpenVZ → OpenVZ as vzmigrate: an address in use on the target is refused in pre-flight; action scripts and per-UID/GID quotas move, the taken CTID is renumbered", async () => {
    const address = await openvzWithService(A);
    await ok(["ct", "create", X, "--backend", "openvz", "--template", "busybox", "--host", "host2"]);
    const src = ctidOf("host1", A);
    assert.equal(ctidOf("host2", X), src, "the target holds the CT's CTID");
    // vzctl's action scripts, one run inside the CT and one as root on the host; second-level quota on.
    writeFileSync(join(confDir("host1"), `${src}.start`), "#!/bin/sh\necho started > /root/start-ran\n");
    writeFileSync(join(confDir("host1"), `${src}.mount`), "#!/bin/sh\n. /etc/vz/vz.conf\n");
    standin("host1", "vzctl", ["set", String(src), "--quotaugidlimit", "100", "--ipadd", "10.99.12.5", "--save"]);
    standin("host1", "vzctl", ["quotainit", String(src)]);
    standin("host1", "vzdqload", [String(src), "-U", "-G", "-T"], QUOTAS);

    // The CT's IP_ADDRESS held on the target: refused by the dry run and the move, nothing moves.
    standin("host2", "vzctl", ["set", String(src), "--ipadd", "10.99.12.5", "--save"]);
    const refused = await cluster.cli(["ct", "migrate", A, "--to", "host2", "--dry-run"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`pre-flight: its IP_ADDRESS \\(CT ${src}\\) 10\\.99\\.12\\.5 of ${A} is already in use on host2 by CT ${src} \\(container ${X}\\)`));
    // Its pool address held there by hand: refused for a conversion too.
    const ip = address.replace(/\/\d+$/, "");
    standin("host2", "vzctl", ["set", String(src), "--ipdel", "all", "--ipadd", ip, "--save"]);
    const conv = await cluster.cli(["ct", "migrate", A, "--to", "host2", "--backend", "lxc", "--dry-run"]);
    assert.match(conv.stderr, new RegExp(`pre-flight: its address ${ip.replace(/\./g, "\\.")} of ${A} is already in use on host2 by CT ${src}`));
    assert.deepEqual([(await cluster.json<CtJson>(["ct", "show", A])).host, (await cluster.json<CtJson>(["ct", "show", A])).state], ["host1", "running"]);
    standin("host2", "vzctl", ["set", String(src), "--ipdel", "all", "--save"]);

    await ok(["ct", "migrate", A, "--to", "host2"]);
    await sameContainer(A, "host2", "openvz", address);
    const dst = ctidOf("host2", A);
    assert.notEqual(dst, src, "CTID taken on the target: renumbered");
    assert.match(readFileSync(join(confDir("host2"), `${dst}.conf`), "utf8"), new RegExp(`host_ifname=veth${dst}\\.0`));
    assert.match(readFileSync(join(confDir("host2"), `${dst}.conf`), "utf8"), /^IP_ADDRESS="10\.99\.12\.5"$/m);
    assert.equal(readFileSync(join(confDir("host2"), `${dst}.start`), "utf8"), "#!/bin/sh\necho started > /root/start-ran\n");
    assert.equal(readFileSync(join(confDir("host2"), `${dst}.mount`), "utf8"), "#!/bin/sh\n. /etc/vz/vz.conf\n");
    assert.equal(standin("host2", "vzdqdump", [String(dst), "-U", "-G", "-T"]), QUOTAS, "vzdqload after quotainit: the same quotas");
    assert.equal(existsSync(join(confDir("host1"), `${src}.conf`)), false, "the source is gone");
    await ok(["ct", "rm", "--force", X]);
  });

  test("OpenVZ → LXC: dry run lists what carries over and what not (action scripts, per-UID quotas); the move keeps files, owners, limits, the service and the address", async () => {
    const address = (await cluster.json<CtJson>(["ct", "show", A])).spec.ipv4 ?? "";
    const ctid = ctidOf("host2", A);
    const dry = await ok(["ct", "migrate", A, "--to", "host1", "--backend", "lxc", "--dry-run"]);
    assert.match(dry.stdout, /converts: {4}openvz → lxc/);
    assert.match(dry.stdout, /carried: {3}PHYSPAGES → lxc\.cgroup\.memory\.limit_in_bytes = 134217728/);
    assert.match(dry.stdout, /not carried: DISKSPACE: vzquota/);
    assert.match(dry.stdout, new RegExp(`not carried: ${ctid}\\.mount: OpenVZ action script run by vzctl as root on the host at mount`));
    assert.match(dry.stdout, new RegExp(`not carried: ${ctid}\\.start: OpenVZ action script run by vzctl inside the CT at start`));
    assert.match(dry.stdout, /not carried: vzquota user 1234: per-UID\/GID quota \(user 1234: blocks 1000\/2000 KiB, inodes 10\/20 \(soft\/hard\)\)/);
    assert.match(dry.stdout, /not carried: vzquota group 2345: /);
    assert.equal((await cluster.json<CtJson>(["ct", "show", A])).backend, "openvz", "a dry run changes nothing");

    const m = await cluster.json<MigrationJson>(["ct", "migrate", A, "--to", "host1", "--backend", "lxc", "--json"]);
    assert.deepEqual([m.conversion?.sourceBackend, m.conversion?.targetBackend], ["openvz", "lxc"]);
    assert.ok(m.conversion?.dropped.some((d) => d.key === "DISKSPACE"), JSON.stringify(m.conversion));
    assert.ok(m.conversion?.dropped.some((d) => d.key === "vzquota user 1234"), JSON.stringify(m.conversion));
    await sameContainer(A, "host1", "lxc", address);
    assert.equal(existsSync(`${cluster.hostDir("host2")}/vz/var/lib/vz/private/${ctid}`), false, "the source private area is gone once the LXC container runs");
  });

  test("LXC → LXD, as lxc-to-lxd does: the same checks", async (t) => {
    const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
    if (!hosts.every((h) => h.backends.includes("lxd"))) return t.skip("LXD is not running on this machine");
    const address = (await cluster.json<CtJson>(["ct", "show", A])).spec.ipv4 ?? "";
    const r = await ok(["ct", "migrate", A, "--to", "host2", "--backend", "lxd"]);
    assert.match(r.stdout, /converts: {4}lxc → lxd/);
    await sameContainer(A, "host2", "lxd", address);
  });

  test("OpenVZ → LXD directly; a conversion the backends cannot make is refused before anything moves", async (t) => {
    const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
    if (!hosts.every((h) => h.backends.includes("lxd"))) return t.skip("LXD is not running on this machine");
    const address = await openvzWithService(B);
    const refused = await cluster.cli(["ct", "migrate", B, "--to", "host2", "--backend", "docker"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot convert .* from openvz to docker/);
    await ok(["ct", "migrate", B, "--to", "host2", "--backend", "lxd"]);
    await sameContainer(B, "host2", "lxd", address);
  });
});
