// Who is on the other end of a call, read in one place from the peer's verified certificate.
// Every Corral certificate names exactly one identity as a SAN URI: corral://controller,
// corral://host/NAME or corral://user/NAME. grpc-js hands a server the peer certificate only when
// the TLS layer verified it against the cluster CA (socket.authorized), so an identity read here
// is one the CA vouched for.
import type { Metadata } from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import { permissionDenied, unauthenticated } from "../domain/errors.js";

export type IdentityKind = "controller" | "host" | "user";

export interface Identity {
  kind: IdentityKind;
  /** The host or user name; "controller" for the controller. */
  name: string;
}

export const CONTROLLER_IDENTITY: Identity = { kind: "controller", name: "controller" };

export function identityUri(id: Identity): string {
  return id.kind === "controller" ? "corral://controller" : `corral://${id.kind}/${id.name}`;
}

export function identityFromUri(uri: string): Identity | undefined {
  if (uri === "corral://controller") return CONTROLLER_IDENTITY;
  const m = /^corral:\/\/(host|user)\/([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/.exec(uri);
  return m ? { kind: m[1] as IdentityKind, name: m[2]! } : undefined;
}

export function describeIdentity(id: Identity | undefined): string {
  if (!id) return "an anonymous caller";
  return id.kind === "controller" ? "the controller" : `${id.kind} ${id.name}`;
}

/** What a handler knows about its caller. */
export interface Peer {
  /** Set only for a certificate verified against the cluster CA that names one identity. */
  identity: Identity | undefined;
  /** Serial of that certificate (lower-case hex, no leading zeros), for the revocation list. */
  serial: string | undefined;
  /** "ipv4:10.77.0.11:51234" as grpc-js reports it. */
  address: string;
  /** Request metadata, where a bearer token would travel. */
  metadata: Metadata;
}

interface CallWithAuth {
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  metadata: Metadata;
}

export function identityOfCertificate(cert: Pick<PeerCertificate, "subjectaltname"> | undefined): Identity | undefined {
  if (!cert?.subjectaltname) return undefined;
  const uris = cert.subjectaltname
    .split(/,\s*/)
    .filter((p) => p.startsWith("URI:corral://"))
    .map((p) => identityFromUri(p.slice(4)));
  return uris.length === 1 ? uris[0] : undefined;
}

export function peerOf(call: CallWithAuth): Peer {
  const cert = call.getAuthContext().sslPeerCertificate;
  const identity = identityOfCertificate(cert);
  return {
    identity,
    serial: identity && cert?.serialNumber ? cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, "") : undefined,
    address: call.getPeer(),
    metadata: call.metadata,
  };
}

/**
 * The caller's identity when it is one of `kinds` (and, if given, has `name`); otherwise a clear
 * error: unauthenticated for no certificate, permission_denied for the wrong one.
 */
export function requireIdentity(peer: Peer, what: string, kinds: IdentityKind[], name?: string): Identity {
  const id = peer.identity;
  if (!id) {
    throw unauthenticated(`${what} needs a client certificate issued by this cluster's CA; the caller (${peer.address}) presented none that verifies`);
  }
  if (!kinds.includes(id.kind) || (name !== undefined && id.name !== name)) {
    const wanted = name !== undefined ? `${kinds[0]} ${name}` : kinds.map((k) => (k === "controller" ? "the controller" : `a ${k}`)).join(" or ");
    throw permissionDenied(`${what} is only for ${wanted}; the caller's certificate names ${describeIdentity(id)}`);
  }
  return id;
}
