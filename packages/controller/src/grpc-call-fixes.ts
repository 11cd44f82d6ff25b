// Workarounds for two traps between @corral/wire's rpc/adapters.ts and grpc-js 1.14.7 (Node 20);
// remove once the adapters handle them:
// 1. serverStreamHandler ends a failed stream with call.destroy(err); grpc-js then never sends the
//    status and the caller waits forever. grpc-js turns emit("error", err) into the status.
// 2. clientStreamHandler iterates the call with for-await; when the loop ends, Node destroys the
//    Duplex with an AbortError (its writable side is still open) and grpc-js answers
//    UNKNOWN "The operation was aborted" instead of the handler's reply. Iterate without destroying.
import type { Readable } from "node:stream";

type AnyHandler = (call: unknown, callback?: unknown) => unknown;

interface GrpcCall {
  destroy(err?: Error): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  iterator?: Readable["iterator"];
  [Symbol.asyncIterator]?: unknown;
}

export function withGrpcCallFixes<T extends object>(impl: T): T {
  const out: Record<string, AnyHandler> = {};
  for (const [name, handler] of Object.entries(impl as Record<string, AnyHandler>)) {
    out[name] = (call, callback) => {
      patchCall(call as GrpcCall);
      return handler(call, callback);
    };
  }
  return out as T;
}

function patchCall(call: GrpcCall): void {
  if (typeof call.destroy !== "function" || typeof call.emit !== "function") return;
  const destroy = call.destroy.bind(call);
  call.destroy = (err?: Error) => (err ? call.emit("error", err) : destroy());
  if (typeof call.iterator === "function") {
    const iterator = call.iterator.bind(call);
    call[Symbol.asyncIterator] = () => iterator({ destroyOnReturn: false });
  }
}
