// Join tokens: one use, expiring, stored as the sha256 of their secret. The token text also pins
// the CA (see parseJoinToken in @corral/wire), so a host can check the controller before joining.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { formatJoinToken, invalidArgument, parseJoinToken, permissionDenied, type JoinToken } from "@corral/wire";
import type { Db } from "../store/store.js";

export const DEFAULT_JOIN_TTL_MS = 3_600_000;
export const MAX_JOIN_TTL_MS = 7 * 86_400_000;

interface TokenRow {
  id: string;
  secret_sha256: string;
  expires_ms: number;
  used_ms: number | null;
  used_by: string | null;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function createJoinToken(db: Db, caFingerprint: string, ttlMs: number, now = Date.now()): JoinToken {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_JOIN_TTL_MS) {
    throw invalidArgument(`invalid join token lifetime ${ttlMs} ms: expected more than 0 and at most 7 days`);
  }
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(16).toString("hex");
  const expiresUnixMs = now + ttlMs;
  db.prepare("INSERT INTO join_tokens (id, secret_sha256, created_ms, expires_ms) VALUES (?, ?, ?, ?)").run(id, sha256(secret), now, expiresUnixMs);
  return { token: formatJoinToken({ caFingerprint, id, secret }), expiresUnixMs };
}

/**
 * Checks a token without using it up: well-formed, for this CA, known, secret right, not expired,
 * not used. Returns its id for markJoinTokenUsed.
 */
export function checkJoinToken(db: Db, text: string, caFingerprint: string, now = Date.now()): string {
  const t = parseJoinToken(text);
  if (t.caFingerprint !== caFingerprint) throw permissionDenied("join token was made for another cluster (its CA hash does not match this controller's CA)");
  const row = db.prepare("SELECT id, secret_sha256, expires_ms, used_ms, used_by FROM join_tokens WHERE id = ?").get(t.id) as TokenRow | undefined;
  const given = Buffer.from(sha256(t.secret), "hex");
  if (!row || !timingSafeEqual(given, Buffer.from(row.secret_sha256, "hex"))) throw permissionDenied("join token is not valid (unknown token)");
  if (row.used_ms !== null) throw permissionDenied(`join token was already used (by host ${row.used_by ?? "?"} at ${new Date(row.used_ms).toISOString()}); tokens are one-use, make a new one with "corral host join-token"`);
  if (row.expires_ms <= now) throw permissionDenied(`join token expired at ${new Date(row.expires_ms).toISOString()}; make a new one with "corral host join-token"`);
  return row.id;
}

/** Uses the token up; false when another join used it first (the caller then gives nothing out). */
export function markJoinTokenUsed(db: Db, id: string, host: string, now = Date.now()): boolean {
  return db.prepare("UPDATE join_tokens SET used_ms = ?, used_by = ? WHERE id = ? AND used_ms IS NULL").run(now, host, id).changes === 1;
}
