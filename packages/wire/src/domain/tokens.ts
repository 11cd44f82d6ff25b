// Bearer tokens for people using the CLI: their roles, how the controller records them, and the
// TTL syntax the CLI accepts.
import { invalidArgument } from "./errors.js";

export const TOKEN_ROLES = ["admin", "read-only"] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** A token as listed; the secret is never stored, only its hash. */
export interface TokenInfo {
  id: string;
  role: TokenRole;
  createdUnixMs: number;
  /** 0: never expires. */
  expiresUnixMs: number;
  /** 0: not revoked. */
  revokedUnixMs: number;
}

/** What CreateToken returns: the only time the secret is seen. */
export interface IssuedToken {
  info: TokenInfo;
  token: string;
}

export function parseRole(text: string): TokenRole {
  if ((TOKEN_ROLES as readonly string[]).includes(text)) return text as TokenRole;
  throw invalidArgument(`unknown role "${text}": expected ${TOKEN_ROLES.join(" or ")}`);
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * "90s", "15m", "12h", "30d", "2w" → seconds. Written here rather than with the `ms` package,
 * which reads a bare number as milliseconds: for a TTL that silent unit is a trap.
 */
export function parseTtl(text: string): number {
  const m = /^\s*(\d+)\s*([smhdw])\s*$/.exec(text);
  const seconds = m ? Number(m[1]) * (SECONDS[m[2] as string] as number) : NaN;
  if (!m || !Number.isSafeInteger(seconds) || seconds <= 0) {
    throw invalidArgument(`invalid ttl "${text}": expected a positive number with a unit s, m, h, d or w, such as 12h or 30d`);
  }
  return seconds;
}

export type TokenState = "active" | "expired" | "revoked";

export function tokenState(t: TokenInfo, nowMs = Date.now()): TokenState {
  if (t.revokedUnixMs) return "revoked";
  if (t.expiresUnixMs && t.expiresUnixMs <= nowMs) return "expired";
  return "active";
}
