// Runs the `corral` binary as a user would, collecting its exit code and output.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CORRAL_BIN = fileURLToPath(new URL("../../bin/corral.js", import.meta.url));

export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/**
 * `node bin/corral.js ARGV` with exactly `env` (no variables inherited beyond what it names); stdin
 * is `input`, then its end (default: empty).
 */
export function runCorral(argv: readonly string[], env: Record<string, string>, input?: Buffer): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CORRAL_BIN, ...argv], { env, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
  if (input) child.stdin!.end(input);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on("data", (d: Buffer) => out.push(d));
  child.stderr!.on("data", (d: Buffer) => err.push(d));
  return new Promise((resolve) =>
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), ms: Date.now() - t0 }),
    ),
  );
}
