// Docker multiplexes a non-TTY exec's stdout and stderr on one connection: each frame is an
// 8-byte header (stream type, 3 zero bytes, big-endian payload length) followed by the payload.
import type { ExecOutput } from "@corral/wire";

const HEADER = 8;

/** Splits a multiplexed byte stream into stdout/stderr chunks, keeping their order. */
export async function* demuxFrames(source: AsyncIterable<Buffer | string>): AsyncGenerator<ExecOutput> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const raw of source) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    while (pending.length - offset >= HEADER) {
      const size = pending.readUInt32BE(offset + 4);
      if (pending.length - offset - HEADER < size) break;
      const type = pending[offset];
      const data = Buffer.from(pending.subarray(offset + HEADER, offset + HEADER + size));
      offset += HEADER + size;
      if (size) yield { kind: type === 2 ? "stderr" : "stdout", data };
    }
    pending = pending.subarray(offset);
  }
  if (pending.length) throw new Error(`exec stream ended inside a frame (${pending.length} bytes left)`);
}

/** A tty exec's output: the terminal's bytes, as they come, all on stdout. */
export async function* rawOutput(source: AsyncIterable<Buffer | string>): AsyncGenerator<ExecOutput> {
  for await (const raw of source) {
    const data = typeof raw === "string" ? Buffer.from(raw) : raw;
    if (data.length) yield { kind: "stdout", data };
  }
}
