// CorralError ⇄ gRPC status. The error code crosses the wire as the gRPC status code; the message
// as the status details, so a CLI prints the same sentence the agent or controller wrote.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { CorralError, asCorralError, type ErrorCode, type ErrorDetails } from "../domain/errors.js";
import { ErrorDetails as ErrorDetailsPb } from "../gen/corral/v1/types.js";
import { verdictFromProto, verdictToProto } from "../convert/controller.js";

/** The trailer that carries an error's structured details (placement verdicts), protobuf-encoded. */
const DETAILS_KEY = "corral-error-details-bin";
// Trailers are headers: keep them well under grpc-js' and HTTP/2's header limits. A cluster with more
// hosts than this sends the first verdicts in host order; `ct create --dry-run --explain` shows all.
const MAX_VERDICTS_IN_TRAILER = 200;

const TO_GRPC: Record<ErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  aborted: status.ABORTED,
  cancelled: status.CANCELLED,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  internal: status.INTERNAL,
};
const FROM_GRPC = new Map<number, ErrorCode>(Object.entries(TO_GRPC).map(([k, v]) => [v, k as ErrorCode]));

export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = asCorralError(err);
  const metadata = new Metadata();
  const verdicts = e.details.verdicts;
  if (verdicts?.length) {
    const pb = { verdicts: verdicts.slice(0, MAX_VERDICTS_IN_TRAILER).map(verdictToProto) };
    metadata.set(DETAILS_KEY, Buffer.from(ErrorDetailsPb.encode(pb).finish()));
  }
  return { code: TO_GRPC[e.code], details: e.message, metadata };
}

export function fromServiceError(err: unknown, peer: string): CorralError {
  if (err instanceof CorralError) return err;
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== "number") return asCorralError(err);
  const code = FROM_GRPC.get(se.code) ?? "internal";
  let message = se.details || se.message || "unknown error";
  // grpc-js phrases transport failures for its own logs; say which peer could not be reached, and
  // when TLS was the reason, say so: a certificate problem is not a network problem.
  if (se.code === status.UNAVAILABLE) {
    const tls = tlsFailure(message, peer);
    if (tls) return new CorralError(tls.code, tls.message, { cause: err });
    if (/No connection established|ECONNREFUSED|connect|Connection dropped/i.test(message)) message = `${peer} is unreachable (${message})`;
  }
  return new CorralError(code, message, { cause: err, details: detailsOf(se.metadata) });
}

function detailsOf(metadata: Metadata | undefined): ErrorDetails {
  const raw = metadata?.get(DETAILS_KEY)[0];
  if (!raw || typeof raw === "string") return {};
  try {
    return { verdicts: ErrorDetailsPb.decode(raw).verdicts.map(verdictFromProto) };
  } catch {
    return {}; // details are a courtesy: a garbled trailer must not hide the error itself
  }
}

function tlsFailure(message: string, peer: string): { code: ErrorCode; message: string } | undefined {
  const detail = /Last error: (?:Error: )?(.*?)(?:\s*\(\d{4}-\d\d-\d\dT[^)]*\))?\.?\s*Resolution note/s.exec(message)?.[1]?.trim() ?? message;
  if (/alert certificate required/i.test(message)) {
    return { code: "unauthenticated", message: `${peer} requires a client certificate from this cluster's CA (TLS alert: certificate required)` };
  }
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked)/i.test(message)) {
    return { code: "permission_denied", message: `${peer} rejected our certificate (${detail})` };
  }
  if (/server certificate names|self[- ]signed certificate|unable to (get|verify)|certificate verify failed|certificate has expired|certificate is not yet valid/i.test(message)) {
    return { code: "permission_denied", message: `${peer} failed TLS verification: ${detail}` };
  }
  return undefined;
}
