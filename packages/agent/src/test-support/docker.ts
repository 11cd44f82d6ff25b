// Test fixtures for the Docker backend: a busybox image built from the busybox-static binary (no
// registry is reachable), and a second dockerd on its own socket and data root standing for another host.
import { spawn } from "node:child_process";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import type { ContainerSpec } from "@corral/wire";
import { run } from "../process/run.js";
import { createDockerBackend } from "../backends/docker/index.js";
import { testContext, testSpec } from "./context.js";

export const TEST_IMAGE = "corral-test/busybox:1";
/** PID 1 ignores SIGTERM unless it traps it: trap it so `stop` is quick, as a real app would. */
export const SLEEP_CMD = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"];

/** True when a dockerd answers /_ping on `socketPath`. */
export async function dockerReachable(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  return new Docker({ socketPath })
    .ping()
    .then(() => true)
    .catch(() => false);
}

/** Tests start their own dockerds: that needs the binary and root. */
export async function dockerdRunnable(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const r = await run("dockerd", ["--version"]).catch(() => undefined);
  const u = await run("unshare", ["--version"]).catch(() => undefined);
  return r?.code === 0 && u?.code === 0;
}

/** Imports the busybox tarball as TEST_IMAGE through the backend under test. */
export async function importTestImage(socketPath: string, tarball: string, stateDir: string): Promise<void> {
  const b = createDockerBackend(testContext("imgimport", stateDir), { socketPath });
  await b.importImage(TEST_IMAGE, createReadStream(tarball));
}

export function sleepSpec(name: string): ContainerSpec {
  return testSpec("docker", name, { image: TEST_IMAGE, cmd: SLEEP_CMD });
}

export interface ExtraDockerd {
  socketPath: string;
  cgroupParent: string;
  stop(): Promise<void>;
}

/**
 * A second dockerd with its own data root, exec root and socket, no bridge and no iptables rules,
 * in a network namespace of its own: a dockerd started with `--bridge none` in the host's namespace
 * deletes the host dockerd's docker0 (seen here), which breaks every container start there.
 * `unshare --net` keeps /sys (and so the cgroup mounts) as they are, unlike `ip netns exec`.
 * Its containers go under `cgroupParent`.
 */
export async function startExtraDockerd(tag: string): Promise<ExtraDockerd> {
  // Short path: the API socket and containerd's sockets live under it (108-byte sun_path limit).
  const dir = mkdtempSync("/tmp/cdk-");
  const socketPath = join(dir, "docker.sock");
  const cgroupParent = `/corral-${tag}-docker`;
  const log = openSync(join(dir, "dockerd.log"), "a");
  const child = spawn(
    "unshare",
    [
      "--net",
      "dockerd",
      "--data-root", join(dir, "root"),
      "--exec-root", join(dir, "exec"),
      "-H", `unix://${socketPath}`,
      "--pidfile", join(dir, "docker.pid"),
      "--bridge", "none",
      "--iptables=false",
      "--cgroup-parent", cgroupParent,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  child.unref();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(killer);
    }
    await removeCgroupDirs(cgroupParent);
    const mounts = readFileSync("/proc/self/mounts", "utf8");
    if (mounts.includes(dir)) await run("sh", ["-c", `grep -o '${dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r umount -l`]);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 150; i++) {
    if (await dockerReachable(socketPath)) return { socketPath, cgroupParent, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const logText = existsSync(join(dir, "dockerd.log")) ? readFileSync(join(dir, "dockerd.log"), "utf8").slice(-2000) : "";
  await stop();
  throw new Error(`second dockerd did not come up on ${socketPath}:\n${logText}`);
}

/** Removes an (empty) cgroup parent from every v1 hierarchy, children first. */
export async function removeCgroupDirs(parent: string): Promise<void> {
  for (const ctrl of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
    const dir = join("/sys/fs/cgroup", ctrl, parent);
    if (!existsSync(dir)) continue;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) {
        try {
          rmdirSync(join(dir, e.name));
        } catch {
          // still in use
        }
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // still in use
    }
  }
}
