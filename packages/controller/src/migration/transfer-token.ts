// Transfer tokens are never stored: each is derived when needed as HMAC(key, migration id), the key
// itself derived from the controller's private key (0600 in its state directory). The migrations
// table keeps only the token's SHA-256, so a copy of corral.db hands nobody a working token, and a
// restarted controller derives the same token for a migration it resumes.
import { createHash, createHmac } from "node:crypto";
import type { ControllerContext } from "../context.js";

const keys = new WeakMap<object, Buffer>();

function keyOf(ctx: Pick<ControllerContext, "identity">): Buffer {
  let key = keys.get(ctx.identity);
  if (!key) {
    key = createHash("sha256").update("corral/transfer-token/v1\0").update(ctx.identity.pki.controller.key).digest();
    keys.set(ctx.identity, key);
  }
  return key;
}

/** The one-use token of a migration, as both agents are told it: 64 hex characters. */
export function transferToken(ctx: Pick<ControllerContext, "identity">, migrationId: string): string {
  return createHmac("sha256", keyOf(ctx)).update(migrationId).digest("hex");
}

/** What the store keeps of a token. */
export const tokenDigest = (token: string): string => createHash("sha256").update(token).digest("hex");
