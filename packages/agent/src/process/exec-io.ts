// Exec through a host tool (lxc-attach, vzctl): the caller's input piped to it, or the whole
// session on a pseudo-terminal (node-pty), with resizes, EOF and back-pressure both ways.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as pty from "node-pty";
import type { ExecInput, ExecOutput, TerminalSize } from "@corral/wire";
import { CorralError } from "@corral/wire";
import { OutputQueue, streamChild } from "./run.js";
import { killTree } from "./tree.js";

/** What an exec takes besides its command: the caller's input and terminal. */
export interface ExecIo {
  /** stdin bytes, EOF and resizes, as the caller sends them. Absent: stdin is empty. */
  input?: AsyncIterable<ExecInput>;
  /** Run on a pseudo-terminal of this size; stdout then carries everything the terminal prints. */
  tty?: TerminalSize;
  /** argv is loginShell()'s: a backend with a native way in (vzctl enter) may use that instead. */
  login?: boolean;
}

/** Where input goes: a pipe, a pty, a websocket. */
export interface InputSink {
  write(data: Buffer): Promise<void>;
  /** End of input: the command reads EOF. */
  end(): void;
  resize(size: TerminalSize): void;
}

/**
 * Feeds `input` to `sink` one message at a time, each write awaited, so a command that does not read
 * holds the caller back instead of filling memory. Input that ends without an EOF message (the caller
 * went away) still ends the command's stdin.
 */
export async function pumpInput(input: AsyncIterable<ExecInput> | undefined, sink: InputSink, signal: AbortSignal): Promise<void> {
  let ended = false;
  const end = () => {
    if (!ended) sink.end();
    ended = true;
  };
  if (!input) return end();
  try {
    for await (const i of input) {
      if (signal.aborted) break;
      if (i.kind === "stdin" && !ended) await sink.write(i.data);
      else if (i.kind === "eof") end();
      else if (i.kind === "resize" && i.size.cols > 0 && i.size.rows > 0) sink.resize(i.size);
    }
  } catch {
    // The caller's stream broke: the command gets EOF; its output and exit still end the call.
  }
  end();
}

/** Sane bounds for a terminal size from a caller (0 or absurd values would upset the pty). */
export function clampSize(s: TerminalSize): TerminalSize {
  const clamp = (n: number, d: number) => (Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : d);
  return { cols: clamp(s.cols, 80), rows: clamp(s.rows, 24) };
}

export interface ToolCommand {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a host tool that runs the command in the container, with the caller's input. Without a tty
 * stdin/stdout/stderr are pipes; with one, the tool runs on a pty of that size (lxc-attach and
 * vzctl then give the command a terminal inside). Aborting kills the tool and what it started.
 */
export function execTool(t: ToolCommand, io: ExecIo | undefined, signal: AbortSignal, what: string): AsyncGenerator<ExecOutput> {
  return io?.tty ? execOnPty(t, io.tty, io.input, signal, what) : execPiped(t, io?.input, signal, what);
}

const killChildTree = (c: ChildProcess): void => {
  if (c.pid === undefined) return;
  killTree(c.pid).catch(() => c.kill("SIGKILL"));
};

async function* execPiped(t: ToolCommand, input: AsyncIterable<ExecInput> | undefined, signal: AbortSignal, what: string): AsyncGenerator<ExecOutput> {
  const child = spawn(t.cmd, t.args, { stdio: ["pipe", "pipe", "pipe"], ...(t.env ? { env: t.env } : {}) });
  const stdin = child.stdin!;
  // A command that exits without reading its input makes our writes fail with EPIPE: not an error.
  stdin.on("error", () => undefined);
  const stop = new AbortController();
  const sink: InputSink = {
    write: async (data) => {
      if (stdin.destroyed) return;
      if (!stdin.write(data)) await once(stdin, "drain", { signal: stop.signal }).catch(() => undefined);
    },
    end: () => stdin.end(),
    resize: () => undefined,
  };
  void pumpInput(input, sink, stop.signal);
  try {
    yield* streamChild(child, signal, what, killChildTree);
  } finally {
    stop.abort();
  }
}

async function* execOnPty(
  t: ToolCommand,
  size: TerminalSize,
  input: AsyncIterable<ExecInput> | undefined,
  signal: AbortSignal,
  what: string,
): AsyncGenerator<ExecOutput> {
  const { cols, rows } = clampSize(size);
  let term: pty.IPty;
  try {
    // encoding null: bytes stay bytes (a terminal program may print anything).
    term = pty.spawn(t.cmd, t.args, { cols, rows, env: t.env ?? process.env, encoding: null as unknown as string });
  } catch (err) {
    throw new CorralError("unavailable", `${what}: ${(err as Error).message}`, { cause: err });
  }
  const out = new OutputQueue(() => term.pause(), () => term.resume());
  term.onData((d: string | Buffer) => out.push({ kind: "stdout", data: typeof d === "string" ? Buffer.from(d) : d }));
  term.onExit(({ exitCode, signal: sig }) => out.finish(sig ? 128 + sig : exitCode));
  const stop = new AbortController();
  const sink: InputSink = {
    write: async (data) => {
      if (!out.done) term.write(data);
    },
    // On a terminal, end of input is the EOF character, as when a person types Ctrl-D.
    end: () => {
      if (!out.done) term.write("\x04");
    },
    resize: (s) => {
      const c = clampSize(s);
      if (!out.done) term.resize(c.cols, c.rows);
    },
  };
  void pumpInput(input, sink, stop.signal);
  try {
    yield* out.drain(signal, () => {
      killTree(term.pid).catch(() => term.kill("SIGKILL"));
    });
  } finally {
    stop.abort();
  }
}

/**
 * The container's login shell, as `vzctl enter` opens one: root's shell from /etc/passwd when the
 * container has it, else bash, else sh (a busybox image has no sed and no bash: sh it is).
 */
export const LOGIN_SHELL_ARGV: readonly string[] = [
  "/bin/sh",
  "-c",
  'cd /root 2>/dev/null || cd /; export HOME="${HOME:-/root}"; ' +
    "s=$(sed -n 's/^root:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*://p' /etc/passwd 2>/dev/null); " +
    'for c in "$s" /bin/bash /bin/ash /bin/sh; do [ -n "$c" ] && [ -x "$c" ] && exec "$c" -l; done; exec /bin/sh -l',
];
