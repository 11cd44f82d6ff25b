// Bearer tokens for people using the CLI: their roles, how the controller records them, and the
// TTL syntax the CLI accepts.
import { invalidArgument } from "./errors.js";
import { parseDuration } from "./validate.js";

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

/** A token's time to live in seconds: parseDuration (validate.ts) under the name "ttl". */
export const parseTtl = (text: string): number => parseDuration("ttl", text);

export type TokenState = "active" | "expired" | "revoked";

export function tokenState(t: TokenInfo, nowMs = Date.now()): TokenState {
  if (t.revokedUnixMs) return "revoked";
  if (t.expiresUnixMs && t.expiresUnixMs <= nowMs) return "expired";
  return "active";
}
