/** Groups small pipe reads into messages of about `size` bytes: fewer, larger gRPC frames. */
export async function* rechunk(src: AsyncIterable<Buffer>, size = 1024 * 1024): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const b of src) {
    parts.push(b);
    n += b.length;
    if (n >= size) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}
