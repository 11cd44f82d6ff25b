// A size cap on a stream from another host: a small compressed stream can expand without bound
// (129 KiB of zstd wrote 4 GiB once), so every decompressed stream passes through one of these.
import { statfs } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import { formatBytes, invalidArgument } from "@corral/wire";

export class ByteCap extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) cb(invalidArgument(`archive is larger than ${this.what} (${formatBytes(this.limit)}); refused`));
    else cb(null, chunk);
  }
}

/** Bytes an unprivileged writer may still use on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
