// Moving between runtimes through the CLI (issue 12): an OpenVZ container of the vzctl STAND-IN
// (not a real OpenVZ kernel) with files, owners, modes, limits and a running service becomes an
// LXC container on another host, then an LXD one (LXC → LXD, as lxc-to-lxd), and a second OpenVZ
// container goes straight to LXD; the same checks after each move.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 2, slot: 18 });
// LXD is one daemon for every cluster on this machine: names of our own.
const A = `cv-${process.pid}`;
const B = `cw-${process.pid}`;

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
  for (const n of [A, B]) await cluster.cli(["ct", "rm", "--force", n]);
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

/** The same checks on every runtime: data, owner and mode, the service, the memory limit, the address. */
async function sameContainer(name: string, host: string, backend: string, address: string): Promise<void> {
  const shown = await cluster.json<CtJson>(["ct", "show", name]);
  assert.deepEqual([shown.host, shown.backend, shown.state], [host, backend, "running"]);
  assert.equal(shown.spec.ipv4 ?? "", address, "the container keeps its pool address");
  const r = await ok(["ct", "exec", name, "--", "sh", "-c",
    "cat /srv/index.html; stat -c %u:%g:%a /srv/index.html; pidof httpd >/dev/null && echo serving; ip -4 -o addr show eth0 | grep -c " + address.replace(/\/\d+$/, "")]);
  assert.equal(r.stdout, "converted\n1234:2345:640\nserving\n1\n");
  // The memory limit as the runtime holds it: LXC's cgroup (its fixed group on the host), LXD's instance config.
  const memory =
    backend === "lxc"
      ? readFileSync(`/sys/fs/cgroup/memory/corral/${host}/${name}/memory.limit_in_bytes`, "utf8").trim()
      : execFileSync("lxc", ["config", "get", `${host}-${name}`, "limits.memory"], { encoding: "utf8" }).trim();
  assert.equal(memory, "134217728");
}

describe("moving between runtimes: OpenVZ (stand-in, not OpenVZ) → LXC → LXD, OpenVZ → LXD", () => {
  test("OpenVZ → LXC: dry run lists what carries over; the move keeps files, owners, limits, the service and the address", async () => {
    const address = await openvzWithService(A);
    const dry = await ok(["ct", "migrate", A, "--to", "host2", "--backend", "lxc", "--dry-run"]);
    assert.match(dry.stdout, /converts: {4}openvz → lxc/);
    assert.match(dry.stdout, /carried: {3}PHYSPAGES → lxc\.cgroup\.memory\.limit_in_bytes = 134217728/);
    assert.match(dry.stdout, /not carried: DISKSPACE: vzquota/);
    assert.equal((await cluster.json<CtJson>(["ct", "show", A])).backend, "openvz", "a dry run changes nothing");

    const m = await cluster.json<MigrationJson>(["ct", "migrate", A, "--to", "host2", "--backend", "lxc", "--json"]);
    assert.deepEqual([m.conversion?.sourceBackend, m.conversion?.targetBackend], ["openvz", "lxc"]);
    assert.ok(m.conversion?.dropped.some((d) => d.key === "DISKSPACE"), JSON.stringify(m.conversion));
    await sameContainer(A, "host2", "lxc", address);
    assert.equal(existsSync(`${cluster.hostDir("host1")}/vz/vz/private/101`), false, "the source private area is gone once the LXC container runs");
  });

  test("LXC → LXD, as lxc-to-lxd does: the same checks", async (t) => {
    const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
    if (!hosts.every((h) => h.backends.includes("lxd"))) return t.skip("LXD is not running on this machine");
    const address = (await cluster.json<CtJson>(["ct", "show", A])).spec.ipv4 ?? "";
    const r = await ok(["ct", "migrate", A, "--to", "host1", "--backend", "lxd"]);
    assert.match(r.stdout, /converts: {4}lxc → lxd/);
    await sameContainer(A, "host1", "lxd", address);
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
