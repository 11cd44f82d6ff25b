// Turns dockerode failures into CorralErrors with one readable sentence, keeping the raw error as
// `cause`. Call sites handle the status codes that mean something to them (404, 409, 304).
import { CorralError, unavailable } from "@corral/wire";

interface DockerodeError extends Error {
  statusCode?: number;
  code?: string;
  json?: unknown;
  reason?: string;
}

export const statusOf = (err: unknown): number | undefined => (err as DockerodeError | undefined)?.statusCode;

/** The daemon's own message, without the "(HTTP code 404) no such container -" prefix. */
export function daemonMessage(err: unknown): string {
  const e = err as DockerodeError;
  const json = e?.json as { message?: unknown } | string | undefined;
  if (json && typeof json === "object" && typeof json.message === "string") return json.message.trim();
  if (typeof json === "string" && json.trim()) return json.trim();
  return (e?.message ?? String(err)).trim();
}

const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EPIPE"]);

/** Generic mapping for whatever a call site did not handle itself. */
export function dockerError(action: string, socketPath: string, err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  const code = (err as DockerodeError | undefined)?.code;
  if (code && SOCKET_ERRORS.has(code)) {
    return unavailable(`dockerd at ${socketPath} cannot be reached (${code}) while trying to ${action}`, err);
  }
  return new CorralError("internal", `docker could not ${action}: ${daemonMessage(err)}`, { cause: err });
}
