// Bearer tokens in SQLite. A token is "corral_<id>_<secret>": the id finds the row, the secret's
// SHA-256 is all that is stored, and the comparison is constant-time. The secret is 32 random bytes.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { CorralError, failedPrecondition, invalidArgument, notFound, parseRole, type IssuedToken, type TokenInfo, type TokenRole } from "@corral/wire";
import type { Db, Store } from "../store/store.js";

const TOKEN_RE = /^corral_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** Ten years: beyond that a TTL is a typo, not a policy. */
const MAX_TTL_MS = 10 * 365 * 86_400_000;

interface TokenRow {
  id: string;
  secret_sha256: string;
  role: string;
  created_ms: number;
  expires_ms: number | null;
  revoked_ms: number | null;
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s).digest();

const toInfo = (r: TokenRow): TokenInfo => ({
  id: r.id,
  role: parseRole(r.role),
  createdUnixMs: r.created_ms,
  expiresUnixMs: r.expires_ms ?? 0,
  revokedUnixMs: r.revoked_ms ?? 0,
});

/** Creates a token; the returned secret is shown once and never stored. ttlMs 0: never expires. */
export function issueToken(store: Store, role: TokenRole, ttlMs = 0, nowMs = Date.now()): IssuedToken {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_TTL_MS) {
    throw invalidArgument(`invalid token ttl ${ttlMs} ms: must be 0 (never expires) or at most ten years`);
  }
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const row: TokenRow = {
    id,
    secret_sha256: sha256(secret).toString("hex"),
    role: parseRole(role),
    created_ms: nowMs,
    expires_ms: ttlMs ? nowMs + ttlMs : null,
    revoked_ms: null,
  };
  store.db
    .prepare("INSERT INTO tokens (id, secret_sha256, role, created_ms, expires_ms, revoked_ms) VALUES (@id, @secret_sha256, @role, @created_ms, @expires_ms, @revoked_ms)")
    .run(row);
  return { info: toInfo(row), token: `corral_${id}_${secret}` };
}

export function listTokens(db: Db): TokenInfo[] {
  return (db.prepare("SELECT * FROM tokens ORDER BY created_ms, id").all() as TokenRow[]).map(toInfo);
}

/**
 * Marks a token revoked (again is a no-op). The last active admin token cannot be revoked: that
 * would leave nobody able to manage the cluster.
 */
export function revokeToken(store: Store, id: string, nowMs = Date.now()): TokenInfo {
  return store.tx(() => {
    const row = store.db.prepare("SELECT * FROM tokens WHERE id = ?").get(id) as TokenRow | undefined;
    if (!row) throw notFound(`token "${id}" not found`);
    if (row.revoked_ms !== null) return toInfo(row);
    if (row.role === "admin" && activeAdmins(store.db, nowMs).every((other) => other === id)) {
      throw failedPrecondition(`cannot revoke token ${id}: it is the last active admin token (create another admin token first)`);
    }
    store.db.prepare("UPDATE tokens SET revoked_ms = ? WHERE id = ?").run(nowMs, id);
    return toInfo({ ...row, revoked_ms: nowMs });
  });
}

/** Ids of the admin tokens that work now. */
export function activeAdmins(db: Db, nowMs = Date.now()): string[] {
  const rows = db
    .prepare("SELECT id FROM tokens WHERE role = 'admin' AND revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?)")
    .all(nowMs) as { id: string }[];
  return rows.map((r) => r.id);
}

const denied = (why: string) => new CorralError("unauthenticated", `permission denied: ${why}`);

/** The token's record if it is known, unrevoked and unexpired; otherwise an `unauthenticated` error saying which. */
export function verifyToken(db: Db, token: string, nowMs = Date.now()): TokenInfo {
  const m = TOKEN_RE.exec(token);
  const row = m ? (db.prepare("SELECT * FROM tokens WHERE id = ?").get(m[1]) as TokenRow | undefined) : undefined;
  // Hash and compare even for an unknown id, so timing says nothing about which ids exist.
  const given = sha256(m?.[2] ?? token);
  const stored = row ? Buffer.from(row.secret_sha256, "hex") : Buffer.alloc(given.length);
  const match = timingSafeEqual(given, stored) && row !== undefined;
  if (!row || !match) throw denied("unknown token");
  if (row.revoked_ms !== null) throw denied(`token ${row.id} was revoked at ${iso(row.revoked_ms)}`);
  if (row.expires_ms !== null && row.expires_ms <= nowMs) throw denied(`token ${row.id} expired at ${iso(row.expires_ms)}`);
  return toInfo(row);
}

const iso = (ms: number) => new Date(ms).toISOString();
