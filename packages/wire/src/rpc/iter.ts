import { invalidArgument } from "../domain/errors.js";

export async function* mapIter<A, B>(src: AsyncIterable<A>, f: (a: A) => B): AsyncGenerator<B> {
  for await (const a of src) yield f(a);
}

type Chunk<H> = { kind: "header"; header: H } | { kind: "data"; data: Buffer } | { kind: string };

/**
 * Client streams that open with one header then carry data (image import, archive transfer): returns
 * the header and the rest. A missing header, or a second one later, is the caller's error, not ours.
 */
export async function splitHeader<H, C extends Chunk<H>>(
  chunks: AsyncIterable<C>,
  what: string,
): Promise<{ header: H; rest: AsyncIterator<C> }> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.kind !== "header") throw invalidArgument(`${what} stream must start with a header`);
  const header = (first.value as { kind: "header"; header: H }).header;
  const rest: AsyncIterator<C> = {
    next: async () => {
      const r = await it.next();
      if (!r.done && r.value.kind === "header") throw invalidArgument(`${what} stream sent a second header`);
      return r;
    },
  };
  return { header, rest };
}

/** The data payloads of the rest of such a stream, ending at its end or at a non-data message. */
export async function* dataOf(rest: AsyncIterator<{ kind: string; data?: Buffer }>): AsyncGenerator<Buffer> {
  for (let c = await rest.next(); !c.done; c = await rest.next()) {
    if (c.value.kind === "data" && c.value.data) yield c.value.data;
  }
}
