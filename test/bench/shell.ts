// Running real commands: plain, timed, and inside an emulated host's network namespace (deploy/hx).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "../support/cluster.js";

const execFileP = promisify(execFile);
export const HX = join(REPO, "deploy/hx");

export async function sh(cmd: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const r = await execFileP(cmd, args, { maxBuffer: 64 << 20, timeout: timeoutMs });
    return r.stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

/** `bash -c SCRIPT _ ARGS…`: the script sees ARGS as $1…, so paths never need quoting. */
export function bash(script: string, args: string[] = [], timeoutMs?: number): Promise<string> {
  return sh("bash", ["-c", `set -euo pipefail\n${script}`, "bash", ...args], timeoutMs);
}

/** The same, run on an emulated host: inside its namespace with the cgroup hierarchies mounted. */
export function hxBash(ns: string, script: string, args: string[] = [], timeoutMs?: number): Promise<string> {
  return sh(HX, [ns, "bash", "-c", `set -euo pipefail\n${script}`, "bash", ...args], timeoutMs);
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}
