// The person's bearer token travels as gRPC metadata on every call. Call credentials would be the
// usual carrier, but grpc-js refuses to compose them with an insecure channel, so a client
// interceptor adds the header; it works the same once the channel is TLS.
import { InterceptingCall, type Interceptor, type Metadata } from "@grpc/grpc-js";

export const AUTHORIZATION = "authorization";

export function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(AUTHORIZATION, `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/**
 * The token in `authorization: Bearer <token>`: undefined when the header is absent; an Error
 * (returned, not thrown) when it is there but malformed, so the caller words the refusal.
 */
export function bearerToken(metadata: Metadata): string | undefined | Error {
  const values = metadata.get(AUTHORIZATION);
  if (values.length === 0) return undefined;
  if (values.length > 1) return new Error("more than one authorization header");
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(String(values[0]));
  return m ? (m[1] as string) : new Error('the authorization header must read "Bearer TOKEN"');
}
