import { invalidArgument } from "../domain/errors.js";
import type { ExecInput } from "../domain/types.js";
import type { ExecMessage } from "../convert/agent.js";

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

/** An exec request stream: its start message (first, and only first), then the caller's input. */
export async function splitExec<S>(reqs: AsyncIterable<ExecMessage<S>>): Promise<{ start: S; input: AsyncIterable<ExecInput> }> {
  const { header, rest } = await splitHeader<S, ExecMessage<S>>(reqs, "exec");
  // splitHeader's rest throws on a second header, so what it yields is input.
  return { start: header, input: { [Symbol.asyncIterator]: () => rest as AsyncIterator<ExecInput> } };
}


/** The input of an exec that reads nothing: EOF at once. */
export async function* noInput(): AsyncGenerator<ExecInput> {
  yield { kind: "eof" };
}
