// The per-call check for people: a bearer token in the metadata, known and live, whose role the
// RPC's rule allows. pki/access.ts runs it after the certificate rules, in one Authorize.
import { bearerToken, CorralError, rpcName, type Authorize, type TokenInfo } from "@corral/wire";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Db } from "../store/store.js";
import { RPC_ROLES, roleGrants } from "./roles.js";
import { verifyToken } from "./token-store.js";

/** Who made the call, once authorized. */
export interface Principal {
  token: TokenInfo;
}

/** Throws `unauthenticated` (no or bad token) or `permission_denied` (role, or an RPC not in the table). */
export function authorizeUser(db: Db, metadata: Metadata, rpc: string, nowMs = Date.now()): Principal {
  const rule = RPC_ROLES[rpc];
  // Fail closed: an RPC nobody gave a role to is refused to everyone, admins included.
  if (!rule) throw new CorralError("permission_denied", `permission denied: ${rpc} has no role assigned`);
  const bearer = bearerToken(metadata);
  if (bearer === undefined) throw new CorralError("unauthenticated", "permission denied: no credential");
  if (bearer instanceof Error) throw new CorralError("unauthenticated", `permission denied: ${bearer.message}`);
  const token = verifyToken(db, bearer, nowMs);
  if (!roleGrants(token.role, rule.needs)) {
    throw new CorralError("permission_denied", `permission denied: role ${token.role} may not ${rule.action}`);
  }
  return { token };
}

/** The role check for ControllerService: authorizeUser on the call's method, with each refusal logged. */
export function userAccess(db: () => Db, log: Logger): Authorize {
  return (peer, method) => {
    const rpc = rpcName(method);
    try {
      authorizeUser(db(), peer.metadata, rpc);
    } catch (err) {
      log.warn({ rpc, peer: peer.address, reason: (err as Error).message }, "call refused");
      throw err;
    }
  };
}
