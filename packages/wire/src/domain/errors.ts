// Named errors that cross process boundaries. The code survives a gRPC hop (rpc/status.ts maps it
// to a gRPC status and back), so the CLI can tell "not found" from "unavailable".

import type { PlacementVerdict } from "./types.js";

export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "aborted"
  | "cancelled"
  | "deadline_exceeded"
  | "permission_denied"
  | "unauthenticated"
  | "internal";

/** Structured data an error carries across the wire, so that a client prints a table, not one line. */
export interface ErrorDetails {
  /** Every host's placement verdict when nothing fits. */
  verdicts?: PlacementVerdict[];
}

export class CorralError extends Error {
  override readonly name = "CorralError";
  readonly details: ErrorDetails;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: ErrorDetails },
  ) {
    super(message, options);
    this.details = options?.details ?? {};
  }
}

export const invalidArgument = (msg: string, cause?: unknown) => new CorralError("invalid_argument", msg, { cause });
export const notFound = (msg: string, cause?: unknown) => new CorralError("not_found", msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new CorralError("already_exists", msg, { cause });
export const failedPrecondition = (msg: string, cause?: unknown) =>
  new CorralError("failed_precondition", msg, { cause });
export const permissionDenied = (msg: string, cause?: unknown) => new CorralError("permission_denied", msg, { cause });
/** The caller proved no identity at all (no verified certificate, no credential). */
export const unauthenticated = (msg: string, cause?: unknown) => new CorralError("unauthenticated", msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new CorralError("unavailable", msg, { cause });

/** Wraps anything thrown into a CorralError, keeping the original as `cause`. */
export function asCorralError(err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  return new CorralError("internal", messageOf(err), { cause: err });
}

/** True when `err` is a CorralError with one of `codes` (Incus' api.StatusErrorCheck). */
export function isCode(err: unknown, ...codes: ErrorCode[]): err is CorralError {
  return err instanceof CorralError && codes.includes(err.code);
}

/** The message of anything thrown, for logs and journal rows. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
