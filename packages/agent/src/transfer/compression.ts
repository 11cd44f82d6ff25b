// Optional zstd on the wire, chosen per migration. On a fast link it costs more than it saves
// (DESIGN.md: 7.0 s raw vs 12.5–15.7 s with zstd for 1 GiB here), so "none" is the default.
import { spawn } from "node:child_process";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import type { Compression } from "@corral/wire";
import { keptOutput, processDone } from "../archive/tar-stream.js";

export interface Filtered {
  stream: Readable;
  finished: Promise<void>;
}

function filter(input: Readable, cmd: string, args: string[]): Filtered {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  const fed = pipeline(input, child.stdin!);
  const done = processDone(child, cmd);
  fed.catch(() => child.kill("SIGKILL"));
  return { stream: keptOutput(child), finished: Promise.all([fed, done]).then(() => undefined) };
}

export function compress(input: Readable, c: Compression): Filtered {
  return c === "zstd" ? filter(input, "zstd", ["-1", "-T0", "-q", "-c"]) : { stream: input, finished: Promise.resolve() };
}

export function decompress(input: Readable, c: Compression): Filtered {
  return c === "zstd" ? filter(input, "zstd", ["-d", "-q", "-c"]) : { stream: input, finished: Promise.resolve() };
}
