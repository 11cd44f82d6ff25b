// Reading the first bytes of a stream to decide what it is, then handing on the whole stream with
// those bytes put back in front: image sniffing and the Docker archive header both need it.
import { Readable } from "node:stream";

export class StreamHead {
  private readonly it: AsyncIterator<Buffer | string>;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(input: Readable) {
    this.it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  }

  /** Reads until at least `n` bytes are buffered or the stream ends; returns what is buffered. */
  async fill(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = Buffer.concat([this.buf, typeof r.value === "string" ? Buffer.from(r.value) : r.value]);
    }
    return this.buf;
  }

  /** True when the stream ended before `fill` had read all it asked for. */
  get done(): boolean {
    return this.ended;
  }

  /** The stream from byte `offset` of the buffered head on, to its end. */
  rest(offset = 0): Readable {
    const head = this.buf.subarray(offset);
    const it = this.it;
    const ended = this.ended;
    async function* body(): AsyncGenerator<Buffer | string> {
      if (head.length) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    }
    return Readable.from(body(), { objectMode: false });
  }

  /** Stops reading: the source is released (a stream being refused). */
  async close(): Promise<void> {
    if (!this.ended) await this.it.return?.();
  }
}
