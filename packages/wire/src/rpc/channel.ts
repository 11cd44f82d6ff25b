// Channel and server settings, and the TLS credentials every Corral hop uses. There is no insecure
// variant: every server speaks TLS under the cluster CA and every client verifies that the server's
// certificate names the identity it meant to reach.
import { credentials, experimental, ServerCredentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import type { TlsCredentials } from "../pki/certs.js";
import { describeIdentity, identityOfCertificate, identityUri, type Identity } from "./identity.js";

// Archive chunks are 1 MiB; leave room. Keepalive notices a peer that vanished without a FIN.
const BASE_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc.keepalive_time_ms": 15_000,
  "grpc.keepalive_timeout_ms": 5_000,
};

// Hosts are dialled by IP, and the name to verify is the identity inside the certificate, not the
// address: a fixed TLS server name keeps Node from sending an IP as SNI (RFC 6066 forbids it), and
// checkServerIdentity below does the real check.
export const TLS_SERVER_NAME = "corral";

export const CHANNEL_OPTIONS: ChannelOptions = { ...BASE_CHANNEL_OPTIONS, "grpc.ssl_target_name_override": TLS_SERVER_NAME };

// The agent's usage stream (its heartbeat) waits for a keepalive answer as long as gRPC's default
// (20 s), not 5 s: the controller judges liveness from the reports themselves, and a controller
// busy taking thousands of registrations (TLS handshakes on its one thread) answered pings late
// enough that 5 s cut healthy streams in bursts ("Connection dropped" in bench:heartbeats), each
// host then silent until it registered again. A controller that is gone is still noticed (15 s + 20 s).
export const HEARTBEAT_CHANNEL_OPTIONS: ChannelOptions = { ...CHANNEL_OPTIONS, "grpc.keepalive_timeout_ms": 20_000 };

export const SERVER_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

/** The server a client means to reach: one identity, or any host (an agent dialling a peer by address). */
export type ExpectedServer = Identity | { kind: "host"; name?: undefined };

/** What a client holds: the CA it trusts and, except while joining, its own key and certificate. */
export type ClientTls = Pick<TlsCredentials, "ca"> & Partial<Pick<TlsCredentials, "cert" | "key">>;

function describeExpected(e: ExpectedServer): string {
  return e.name === undefined ? "a Corral host" : identityUri(e);
}

export function checkServerIdentity(expect: ExpectedServer, cert: Pick<PeerCertificate, "subjectaltname">): Error | undefined {
  const id = identityOfCertificate(cert);
  if (id && id.kind === expect.kind && (expect.name === undefined || id.name === expect.name)) return undefined;
  return new Error(`server certificate names ${describeIdentity(id)}, expected ${describeExpected(expect)}`);
}

export function clientCredentials(tls: ClientTls, expect: ExpectedServer): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(tls.ca),
    tls.key ? Buffer.from(tls.key) : null,
    tls.cert ? Buffer.from(tls.cert) : null,
    { checkServerIdentity: (_name, cert) => checkServerIdentity(expect, cert) },
  );
}

/**
 * Server credentials under the cluster CA. "required": the handshake itself refuses a client without a
 * certificate from this CA (agents). "optional": a client may come without one (the controller, whose
 * Join call is how a host without a certificate gets one); each handler then decides from peerOf().
 * The CA certificate rides in the chain so a joining host can check its pinned fingerprint.
 */
export function serverCredentials(tls: TlsCredentials, clientCerts: "required" | "optional"): ServerCredentials {
  const chain = Buffer.from(`${tls.cert.trimEnd()}\n${tls.ca.trimEnd()}\n`);
  if (clientCerts === "required") {
    return ServerCredentials.createSsl(Buffer.from(tls.ca), [{ private_key: Buffer.from(tls.key), cert_chain: chain }], true);
  }
  // createSsl(…, false) does not ask for a client certificate at all; the certificate-provider
  // credentials ask for one without requiring it (requestCert without rejectUnauthorized).
  // grpc-js registers its watcher only after subscribing to the provider, so an update delivered
  // synchronously would be lost: deliver it on the next microtask.
  const provider: experimental.CertificateProvider = {
    addCaCertificateListener: (l) => queueMicrotask(() => l({ caCertificate: Buffer.from(tls.ca) })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => queueMicrotask(() => l({ certificate: chain, privateKey: Buffer.from(tls.key) })),
    removeIdentityCertificateListener: () => undefined,
  };
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
