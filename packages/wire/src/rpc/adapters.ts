// Small generic bridges between grpc-js call objects and promise / async-iterable functions, so
// handlers and clients are written with domain types only.
import {
  type ClientReadableStream,
  type ClientWritableStream,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
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
    void (async () => {
      try {
        for await (const item of fn(call.request, ac.signal, peerOf(call))) {
          if (ac.signal.aborted) break;
          if (!call.write(item)) await once(call, "drain", { signal: ac.signal });
        }
        if (!ac.signal.aborted) call.end();
      } catch (err) {
        // grpc-js turns an 'error' event into the call's status; destroy() would never send one.
        if (!ac.signal.aborted) call.emit("error", toServiceError(err));
      }
    })();
  };
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

/** The handler of an optional RPC a server was built without (a test double): a clear refusal. */
export const notServed =
  (rpc: string) =>
  (): never => {
    throw new CorralError("failed_precondition", `${rpc} is not served here`);
  };
