// Small generic bridges between grpc-js call objects and promise / async-iterable functions, so
// handlers and clients are written with domain types only.
import {
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { once } from "node:events";
import { fromServiceError, toServiceError } from "./status.js";
import { CorralError } from "../domain/errors.js";
import { peerOf, type Peer } from "./identity.js";

export function unaryHandler<Req, Res>(fn: (req: Req, peer: Peer) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, peerOf(call)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err), null),
    );
  };
}

export function serverStreamHandler<Req, Res>(
  fn: (req: Req, signal: AbortSignal, peer: Peer) => AsyncIterable<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("call cancelled by peer")));
    void writeResponses(call, ac.signal, fn(call.request, ac.signal, peerOf(call)));
  };
}

/**
 * A bidirectional call: the handler pulls requests as it is ready for them (so HTTP/2 flow control
 * holds the caller back) and its responses are written with back-pressure, as a server stream's.
 */
export function bidiStreamHandler<Req, Res>(
  fn: (reqs: AsyncIterable<Req>, signal: AbortSignal, peer: Peer) => AsyncIterable<Res>,
): handleBidiStreamingCall<Req, Res> {
  return (call: ServerDuplexStream<Req, Res>) => {
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("call cancelled by peer")));
    // destroyOnReturn false: leaving the request loop early must not destroy the call (see below).
    const requests: AsyncIterable<Req> = { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) };
    void writeResponses(call, ac.signal, fn(requests, ac.signal, peerOf(call)));
  };
}

async function writeResponses<Res>(call: ServerWritableStream<unknown, Res> | ServerDuplexStream<unknown, Res>, signal: AbortSignal, items: AsyncIterable<Res>): Promise<void> {
  try {
    for await (const item of items) {
      if (signal.aborted) break;
      if (!call.write(item)) await once(call, "drain", { signal });
    }
    if (!signal.aborted) call.end();
  } catch (err) {
    // grpc-js turns an 'error' event into the call's status; destroy() would never send one.
    if (!signal.aborted) call.emit("error", toServiceError(err));
  }
}

export function clientStreamHandler<Req, Res>(
  fn: (reqs: AsyncIterable<Req>, peer: Peer) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    // A plain for-await over the call destroys it when the loop ends early (its writable side is
    // still open), and grpc-js then answers UNKNOWN "The operation was aborted" instead of our reply.
    const requests: AsyncIterable<Req> = { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) };
    fn(requests, peerOf(call)).then(
      (res) => callback(null, res),
      (err: unknown) => {
        callback(toServiceError(err), null);
      },
    );
  };
}

/**
 * Runs `authorize` before every method of a service implementation; a refusal answers the call with
 * the error (as its status) and the handler never runs. One place per server decides who may call what.
 */
export function authorizeEach<S extends object>(
  impl: S,
  definition: ServiceDefinition,
  authorize: (peer: Peer, method: string) => void,
): S {
  const guarded: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(impl) as [string, (call: unknown, cb?: unknown) => void][]) {
    const streamsOut = definition[method]?.responseStream === true;
    guarded[method] = (call: Parameters<typeof peerOf>[0] & { emit(e: string, v: unknown): boolean }, callback?: sendUnaryData<unknown>) => {
      try {
        authorize(peerOf(call), method);
      } catch (err) {
        if (streamsOut) call.emit("error", toServiceError(err));
        else callback?.(toServiceError(err), null);
        return;
      }
      handler(call, callback);
    };
  }
  return guarded as S;
}

type UnaryMethod<Req, Res> = (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown;

export function callUnary<Req, Res>(peer: string, method: UnaryMethod<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, (err, res) => (err ? reject(fromServiceError(err, peer)) : resolve(res)));
  });
}

/** Reads a server stream; errors arrive as CorralError. Breaking out of the loop cancels the call. */
export async function* readServerStream<Res>(peer: string, stream: ClientReadableStream<Res>): AsyncGenerator<Res> {
  try {
    for await (const item of stream as AsyncIterable<Res>) yield item;
  } catch (err) {
    throw fromServiceError(err, peer);
  } finally {
    stream.cancel();
  }
}

/** Writes every item with back-pressure, then half-closes and waits for the single response. */
export function writeClientStream<Req, Res>(
  peer: string,
  start: (cb: (err: ServiceError | null, res: Res) => void) => ClientWritableStream<Req>,
  items: AsyncIterable<Req>,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    let settled = false;
    const done = new AbortController();
    const call = start((err, res) => {
      settled = true;
      done.abort();
      if (err) reject(fromServiceError(err, peer));
      else resolve(res);
    });
    void (async () => {
      try {
        for await (const item of items) {
          if (settled) return;
          if (!call.write(item)) await once(call, "drain", { signal: done.signal });
        }
        call.end();
      } catch (err) {
        // The producer failed (e.g. tar exited non-zero): cancel so the peer discards what it has.
        call.cancel();
        if (!settled) {
          settled = true;
          reject(err);
        }
      }
    })();
  });
}

/**
 * A bidirectional call from the client side: sends `first`, then each of `rest` with back-pressure
 * (half-closing when `rest` ends), and yields the responses. The call ends when the responses do;
 * leaving the loop early, or aborting `signal`, cancels it. An error from `rest` cancels the call and
 * is thrown here.
 */
export async function* duplexCall<Req, Res>(
  peer: string,
  call: ClientDuplexStream<Req, Res>,
  first: Req,
  rest: AsyncIterable<Req>,
  signal?: AbortSignal,
): AsyncGenerator<Res> {
  const done = new AbortController();
  let inputError: unknown;
  // The caller went away (a relay whose own caller cancelled): cancel now, not at the next response.
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  call.write(first);
  void (async () => {
    try {
      for await (const item of rest) {
        if (done.signal.aborted) return;
        if (!call.write(item)) await once(call, "drain", { signal: done.signal });
      }
      if (!done.signal.aborted) call.end();
    } catch (err) {
      if (done.signal.aborted) return;
      inputError = err;
      call.cancel();
    }
  })();
  try {
    yield* readServerStream(peer, call);
  } catch (err) {
    throw inputError ?? err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    done.abort();
  }
}

const NOT_SERVED = "is not served here";

/** The handler of an optional RPC a server was built without (a test double): a clear refusal. */
export const notServed =
  (rpc: string) =>
  (): never => {
    throw new CorralError("failed_precondition", `${rpc} ${NOT_SERVED}`);
  };

/** Whether a call failed because the server was built without that optional RPC (notServed). */
export const isNotServed = (err: unknown): boolean =>
  err instanceof CorralError && err.code === "failed_precondition" && err.message.endsWith(NOT_SERVED);
