// Test support: bring up a local LXD daemon as the recipes do. Used by the LXD tests and the
// conformance fixture; the busybox image comes from test-support/busybox-rootfs.ts.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createReadStream } from "node:fs";
import { DEFAULT_LXD_SOCKET } from "../backends/lxd/client.js";
import { LxdBackend } from "../backends/lxd/lxd-backend.js";
import { testContext } from "./context.js";

/** The preseed that works here, shared with scripts/setup.sh (compiled to lib/test-support/). */
export const LXD_PRESEED = readFileSync(new URL("../../../../deploy/lxd-preseed.yaml", import.meta.url), "utf8");

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

export function tarballStream(path: string) {
  return createReadStream(path);
}
