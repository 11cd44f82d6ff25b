// Running runtime tools (lxc-*, vzctl) as child processes: collected output, or streamed for exec.
// The one place the agent spawns, collects and times out a tool.
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { ExecOutput } from "@corral/wire";
import { CorralError, unavailable } from "@corral/wire";
import { killGroup } from "./tree.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** SIGKILL after this long: the child, or its whole process group with `group`. */
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Run in a process group of its own, so a timeout also kills what the tool started. */
  group?: boolean;
  /** The error when the tool is not installed (ENOENT); default "cannot run CMD: …". */
  missing?: string;
}

/** Resolves with the exit code and output; rejects only when the tool cannot be started at all. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      ...(opts.env ? { env: opts.env } : {}),
      detached: opts.group ?? false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => err.push(d));
    const kill = () => (opts.group ? killGroup(child) : child.kill("SIGKILL"));
    const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.code === "ENOENT" && opts.missing) reject(unavailable(opts.missing, e));
      else reject(new CorralError("unavailable", `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 + (constants.signals[signal] ?? 9) : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Last meaningful line of a tool's stderr, for an error message. */
export const lastLine = (text: string): string =>
  text
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-1)[0]
    ?.trim() ?? "";

/**
 * Streams a running child's stdout/stderr as ExecOutput, ending with its exit code. Aborting the
 * signal, or the consumer stopping early, kills it with `kill` (default: SIGKILL to the child).
 */
export async function* streamChild(
  child: ChildProcess,
  signal: AbortSignal,
  what: string,
  kill: (c: ChildProcess) => void = (c) => c.kill("SIGKILL"),
): AsyncGenerator<ExecOutput> {
  const queue: ExecOutput[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: Error | undefined;
  const push = (o: ExecOutput) => {
    queue.push(o);
    wake?.();
  };
  child.stdout!.on("data", (d: Buffer) => push({ kind: "stdout", data: d }));
  child.stderr!.on("data", (d: Buffer) => push({ kind: "stderr", data: d }));
  child.on("error", (e) => {
    failure = new CorralError("unavailable", `${what}: ${e.message}`, { cause: e });
    finished = true;
    wake?.();
  });
  child.on("close", (code, sig) => {
    push({ kind: "exit", code: code ?? (sig ? 128 + 9 : 1) });
    finished = true;
    wake?.();
  });
  const onAbort = () => kill(child);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        if (next.kind === "exit") return;
        continue;
      }
      if (failure) throw failure;
      if (finished && queue.length === 0) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!finished) kill(child);
  }
}
