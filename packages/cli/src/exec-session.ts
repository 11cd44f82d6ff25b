// One exec seen from the user's side (`ct exec`, `ct shell`): our stdin goes in, the command's output
// comes out byte for byte, and its exit code becomes ours. With a terminal the local one is put in
// raw mode, so keys (Ctrl-C included) reach the command, and its size follows ours.
import { CorralError, type ExecInput, type ExecOptions, type ExecOutput, type TerminalSize } from "@corral/wire";
import type { Context, InStream, OutStream } from "./command.js";

export interface ExecMode {
  /** -i: forward stdin even when it is a terminal (a pipe or file is always forwarded). */
  interactive: boolean;
  /** -t: run the command on a terminal. */
  tty: boolean;
  /** The container's login shell instead of a command. */
  login: boolean;
}

/** Queued input before our stdin is paused until the controller takes some. */
const INPUT_HIGH_WATER = 16;

/** Our stdin and terminal resizes as one stream of exec input, pulled by the call as it can send. */
class InputQueue implements AsyncIterable<ExecInput> {
  private readonly items: ExecInput[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private paused = false;

  constructor(private readonly stdin?: InStream) {}

  push(i: ExecInput): void {
    if (this.closed) return;
    this.items.push(i);
    if (this.stdin && !this.paused && this.items.length >= INPUT_HIGH_WATER) {
      this.paused = true;
      this.stdin.pause();
    }
    this.wake?.();
  }

  /** The exec ended: no more input (pending reads end). */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecInput> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        if (this.paused && this.items.length === 0) {
          this.paused = false;
          this.stdin?.resume();
        }
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

const sizeOf = (out: OutStream): TerminalSize => ({ cols: out.columns ?? 80, rows: out.rows ?? 24 });

export async function runExec(ctx: Context, name: string, argv: string[], env: string[], mode: ExecMode): Promise<number> {
  const { stdin, stdout, stderr } = ctx.io;
  const forward = stdin !== undefined && (mode.interactive || !stdin.isTTY);
  const raw = mode.tty && forward && stdin.isTTY === true && typeof stdin.setRawMode === "function";
  const options: ExecOptions = { tty: mode.tty, size: mode.tty ? sizeOf(stdout) : { cols: 0, rows: 0 }, login: mode.login };
  // The command's terminal speaks what ours does.
  const term = ctx.io.env.TERM;
  const fullEnv = mode.tty && term && !env.some((e) => e.startsWith("TERM=")) ? [...env, `TERM=${term}`] : env;

  const input = new InputQueue(forward ? stdin : undefined);
  const onData = (d: Buffer | string) => input.push({ kind: "stdin", data: typeof d === "string" ? Buffer.from(d) : d });
  const onEnd = () => input.push({ kind: "eof" });
  const onResize = () => input.push({ kind: "resize", size: sizeOf(stdout) });
  if (forward) {
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onEnd);
  } else if (!mode.tty) {
    input.push({ kind: "eof" }); // nothing to read: the command sees an empty stdin
  }
  if (mode.tty) stdout.on?.("resize", onResize);
  if (raw) stdin.setRawMode!(true);

  const client = await ctx.connection().controller();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exitCode: number | undefined;
  try {
    for await (const o of client.exec(name, argv, fullEnv, { options, input }) as AsyncIterable<ExecOutput>) {
      if (o.kind === "exit") exitCode = o.code;
      else if (ctx.json) (o.kind === "stdout" ? out : err).push(o.data);
      else await writeAll(o.kind === "stdout" ? stdout : stderr, o.data);
    }
  } finally {
    input.close();
    if (raw) stdin.setRawMode!(false);
    if (mode.tty) stdout.removeListener?.("resize", onResize);
    if (forward) {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      stdin.removeListener("error", onEnd);
      stdin.pause();
    }
  }
  if (exitCode === undefined) throw new CorralError("internal", `exec in ${name} ended without an exit code`);
  if (ctx.json) {
    ctx.printJson({ exitCode, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
  }
  return exitCode;
}

export async function writeAll(stream: OutStream, data: Buffer): Promise<void> {
  if (!stream.write(data)) await new Promise<void>((resolve) => stream.once("drain", resolve));
}
