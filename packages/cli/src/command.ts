// What every `commands/<noun>-<verb>.ts` module exports, and what its run() is handed.
import type { Args, Completion, FlagSpec, ParseOptions } from "./args.js";
import type { Connection } from "./connection.js";

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** What `ct exec` forwards; absent (tests, embedding): the command's stdin is empty. */
  stdin?: InStream;
}

/** The CLI's stdin: a stream, and on a terminal the raw-mode switch. */
export interface InStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface OutStream {
  write(chunk: string | Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  /** A terminal's size changed (Node emits it on SIGWINCH for a TTY stdout). */
  on?(event: "resize", listener: () => void): unknown;
  removeListener?(event: "resize", listener: () => void): unknown;
}

export interface Context {
  args: Args;
  /** --json: print exactly one JSON document on stdout. */
  json: boolean;
  io: Io;
  /** Colour is for terminals only (and never with NO_COLOR). */
  colour: boolean;
  /** Resolves the controller address on first use, so local mistakes fail before any network. */
  connection(): Connection;
  /** Writes one line to stdout. */
  print(line: string): void;
  printJson(doc: unknown): void;
}

export interface CommandModule {
  /** "ct create" */
  name: string;
  /** One line, shown in `corral --help`. */
  synopsis: string;
  /** The usage line and a few sentences; flags are listed from `flags`. */
  help: string;
  /** Command lines shown under "Examples:" in the help; every command has some (a test checks). */
  examples?: readonly string[];
  /** Other verbs that run this command (`ct ls` for `ct list`); not listed as commands of their own. */
  aliases?: readonly string[];
  /** Left out of help and completion (the shells' `__complete` helper). */
  hidden?: boolean;
  /** What the positional arguments name, for shell completion. */
  positionals?: Completion;
  flags?: readonly FlagSpec[];
  parse?: ParseOptions;
  /** Resolves to the exit code (0 when nothing is returned). */
  run(ctx: Context): Promise<number | void>;
}
