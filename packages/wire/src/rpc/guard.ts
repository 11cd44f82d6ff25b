// Runs one check before every method of a service, in one place, instead of in each handler. A
// refused call gets the check's CorralError as its status and never reaches the handler.
import type {
  Metadata,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
} from "@grpc/grpc-js";
import { toServiceError } from "./status.js";

/** What a check may look at: the call's metadata and who is on the other end. */
export interface CallInfo {
  metadata: Metadata;
  getPeer(): string;
}

/** Throws (a CorralError) to refuse the call. `rpc` is the method's proto name, e.g. "CreateContainer". */
export type CallCheck = (call: CallInfo, rpc: string) => void;

/** The proto name of every method of a service: "/corral.v1.ControllerService/ListHosts" → "ListHosts". */
export function rpcNames(definition: ServiceDefinition): string[] {
  return Object.values(definition).map((m) => rpcName(m.path));
}

const rpcName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

export function guardImplementation<T extends object>(definition: ServiceDefinition, impl: T, check: CallCheck): T {
  const handlers = impl as unknown as UntypedServiceImplementation;
  const guarded: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    const handler = handlers[key];
    if (!handler) throw new Error(`service implementation lacks ${method.path}`);
    guarded[key] = guardHandler(handler, method.responseStream, (call) => check(call, rpcName(method.path)));
  }
  return guarded as unknown as T;
}

function guardHandler(handler: UntypedHandleCall, responseStream: boolean, check: (call: CallInfo) => void): UntypedHandleCall {
  if (responseStream) {
    // Server and bidi streams: there is no callback; grpc-js turns an 'error' event into the status.
    const h = handler as handleServerStreamingCall<unknown, unknown>;
    const wrapped: handleServerStreamingCall<unknown, unknown> = (call) => {
      try {
        check(call);
      } catch (err) {
        call.emit("error", toServiceError(err));
        return;
      }
      h(call);
    };
    return wrapped;
  }
  const h = handler as handleUnaryCall<unknown, unknown> & handleClientStreamingCall<unknown, unknown>;
  const wrapped = ((call: Parameters<typeof h>[0], callback: Parameters<typeof h>[1]) => {
    try {
      check(call);
    } catch (err) {
      callback(toServiceError(err), null);
      return;
    }
    h(call, callback);
  }) as UntypedHandleCall;
  return wrapped;
}
