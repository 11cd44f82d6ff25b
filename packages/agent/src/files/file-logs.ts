// ct logs from a file the runtime appends to (LXC's console log, the OpenVZ stand-in's console):
// the last N lines, then, with follow, whatever is appended, polled without holding the file open.
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { LogsOptions } from "@corral/wire";

const BLOCK = 64 * 1024;
const POLL_MS = 200;

/** The offset where the last `lines` lines of the first `size` bytes of `path` start. */
export async function tailOffset(path: string, size: number, lines: number): Promise<number> {
  if (lines < 0) return 0;
  if (lines === 0) return size;
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(BLOCK);
    let end = size;
    // A final newline ends the last line; it does not start an empty one.
    let seen = -1;
    while (end > 0) {
      const start = Math.max(0, end - BLOCK);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) continue;
        if (start + i === size - 1) continue;
        if (++seen === lines - 1) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    await fh.close();
  }
}

async function* readRange(path: string, from: number, to: number): AsyncGenerator<Buffer> {
  const fh = await open(path, "r");
  try {
    for (let pos = from; pos < to; ) {
      const buf = Buffer.alloc(Math.min(BLOCK, to - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

const sizeOf = async (path: string): Promise<number | undefined> => (await stat(path).catch(() => undefined))?.size;

export async function* fileLogs(path: string, opts: LogsOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
  let pos = 0;
  const size = await sizeOf(path);
  if (size !== undefined) {
    pos = await tailOffset(path, size, opts.tail);
    yield* readRange(path, pos, size);
    pos = size;
  }
  while (opts.follow && !signal.aborted) {
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    const now = await sizeOf(path);
    if (now === undefined) continue;
    if (now < pos) pos = 0; // truncated or replaced: start again from its beginning
    if (now > pos) {
      yield* readRange(path, pos, now);
      pos = now;
    }
  }
}

/** The last `lines` lines of a log held in memory (LXD hands its console log over whole). */
export function tailOfBuffer(buf: Buffer, lines: number): Buffer {
  if (lines < 0) return buf;
  if (lines === 0) return buf.subarray(buf.length);
  let seen = -1;
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i] !== 0x0a || i === buf.length - 1) continue;
    if (++seen === lines - 1) return buf.subarray(i + 1);
  }
  return buf;
}
