// Workaround, to remove once @corral/wire's clientStreamHandler handles it: the handler iterates
// the grpc-js call with for-await; when that loop ends, Node destroys the Duplex with an AbortError
// (its writable side is still open) and grpc-js then answers UNKNOWN "The operation was aborted"
// instead of the handler's reply or error (grpc-js 1.14.7, Node 20). Iterating with
// destroyOnReturn: false leaves the call to grpc-js.
import type { Readable } from "node:stream";

type AnyHandler = (call: unknown, callback?: unknown) => unknown;

interface GrpcCall {
  iterator?: Readable["iterator"];
  [Symbol.asyncIterator]?: unknown;
}

export function withGrpcCallFixes<T extends object>(impl: T): T {
  const out: Record<string, AnyHandler> = {};
  for (const [name, handler] of Object.entries(impl as Record<string, AnyHandler>)) {
    out[name] = (call, callback) => {
      keepCallOnLoopExit(call as GrpcCall);
      return handler(call, callback);
    };
  }
  return out as T;
}

function keepCallOnLoopExit(call: GrpcCall): void {
  if (typeof call.iterator !== "function") return;
  const iterator = call.iterator.bind(call);
  call[Symbol.asyncIterator] = () => iterator({ destroyOnReturn: false });
}
