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

/** Output chunks queued before a producer is paused until the consumer catches up. */
export const OUTPUT_HIGH_WATER = 32;

/**
 * Streams a running child's stdout/stderr as ExecOutput, ending with its exit code. Aborting the
 * signal, or the consumer stopping early, kills it with `kill` (default: SIGKILL to the child). A
 * slow consumer pauses the child's pipes (so the child blocks), never grows the queue without bound.
 */
export async function* streamChild(
  child: ChildProcess,
  signal: AbortSignal,
  what: string,
  kill: (c: ChildProcess) => void = (c) => c.kill("SIGKILL"),
): AsyncGenerator<ExecOutput> {
  const out = new OutputQueue(() => {
    child.stdout!.pause();
    child.stderr!.pause();
  }, () => {
    child.stdout!.resume();
    child.stderr!.resume();
  });
  child.stdout!.on("data", (d: Buffer) => out.push({ kind: "stdout", data: d }));
  child.stderr!.on("data", (d: Buffer) => out.push({ kind: "stderr", data: d }));
  child.on("error", (e) => out.fail(new CorralError("unavailable", `${what}: ${e.message}`, { cause: e })));
  child.on("close", (code, sig) => out.finish(code ?? (sig ? 128 + (constants.signals[sig] ?? 9) : 1)));
  yield* out.drain(signal, () => kill(child));
}

/**
 * The queue between a producer of exec output (a child's pipes, a pty, a websocket) and the one
 * consumer: `pause` is called when it holds OUTPUT_HIGH_WATER chunks and `resume` once it is empty.
 */
export class OutputQueue {
  private readonly queue: ExecOutput[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private paused = false;
  private failure: Error | undefined;

  constructor(
    private readonly pause: () => void = () => undefined,
    private readonly resume: () => void = () => undefined,
  ) {}

  push(o: ExecOutput): void {
    this.queue.push(o);
    if (!this.paused && this.queue.length >= OUTPUT_HIGH_WATER) {
      this.paused = true;
      this.pause();
    }
    this.wake?.();
  }

  /** The command ended with `code`: queued output is delivered first. */
  finish(code: number): void {
    if (this.finished) return;
    this.push({ kind: "exit", code });
    this.finished = true;
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.finished = true;
    this.wake?.();
  }

  get done(): boolean {
    return this.finished;
  }

  /** Yields everything until the exit code; aborting, or the consumer leaving early, calls `kill`. */
  async *drain(signal: AbortSignal, kill: () => void): AsyncGenerator<ExecOutput> {
    signal.addEventListener("abort", kill, { once: true });
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          if (this.paused && this.queue.length === 0) {
            this.paused = false;
            this.resume();
          }
          yield next;
          if (next.kind === "exit") return;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.finished) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", kill);
      if (!this.finished) kill();
    }
  }
}
