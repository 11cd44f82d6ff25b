// Test support: bring up a local LXD daemon as the recipes do, and build a busybox rootfs image
// offline from the busybox-static binary. Used by the LXD tests and the conformance fixture.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReadStream } from "node:fs";
import pino from "pino";
import type { BackendContext } from "../backend.js";
import { DEFAULT_LXD_SOCKET } from "./lxd-client.js";
import { LxdBackend } from "./lxd-backend.js";

export const BUSYBOX = "/bin/busybox";

/** The preseed that works here: a dir pool and a default profile with only the root disk (no network). */
export const LXD_PRESEED = `storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
`;

export function testContext(hostName: string, stateDir: string): BackendContext {
  return { hostName, stateDir, lxcPath: join(stateDir, "lxc"), log: pino({ level: "silent" }) };
}

/**
 * Makes sure an LXD daemon with a storage pool answers on `socketPath`, starting and preseeding one
 * (`lxd --group root`, `lxd waitready`, `lxd init --preseed`) when it is not running. Returns a reason when it cannot.
 */
export async function ensureLxd(socketPath = DEFAULT_LXD_SOCKET): Promise<string | undefined> {
  const probe = () => new LxdBackend(testContext("probe", tmpdir()), { socketPath }).probe();
  let p = await probe();
  if (p.available) return undefined;
  if (spawnSync("lxd", ["--version"]).status !== 0) return "lxd is not installed";
  // No socket, or a stale one left by a daemon that died: start a daemon.
  if (!existsSync(socketPath) || /not answering/.test(p.reason)) {
    if (socketPath !== DEFAULT_LXD_SOCKET) return p.reason;
    const log = openSync("/var/log/lxd.log", "a");
    spawn("lxd", ["--group", "root"], { detached: true, stdio: ["ignore", log, log] }).unref();
    const ready = spawnSync("lxd", ["waitready", "--timeout", "30"]);
    if (ready.status !== 0) return `lxd did not become ready: ${ready.stderr.toString().trim()}`;
  }
  p = await probe();
  if (!p.available && /storage pool/.test(p.reason)) {
    const init = spawnSync("lxd", ["init", "--preseed"], { input: LXD_PRESEED });
    if (init.status !== 0) return `lxd init --preseed failed: ${init.stderr.toString().trim()}`;
    p = await probe();
  }
  return p.available ? undefined : p.reason;
}

/**
 * A busybox rootfs tarball: /bin/busybox with its applet links, /sbin/init → busybox, and an
 * inittab whose only job is a long-running sleep (busybox init stops cleanly on LXD's SIGPWR).
 */
export function buildBusyboxRootfs(): { tarball: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "corral-lxd-busybox-"));
  const root = join(dir, "rootfs");
  for (const d of ["bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root", "run", "var", "usr/bin", "usr/sbin"]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  const applets = spawnSync(BUSYBOX, ["--list"]).stdout.toString().split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  symlinkSync("../bin/busybox", join(root, "sbin/init"));
  writeFileSync(join(root, "etc/inittab"), "::sysinit:/bin/true\n::respawn:/bin/sleep 1000000\n");
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
  const tarball = join(dir, "rootfs.tar.gz");
  const tar = spawnSync("tar", ["-C", root, "--numeric-owner", "-czf", tarball, "."]);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  return { tarball, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tarballStream(path: string) {
  return createReadStream(path);
}
