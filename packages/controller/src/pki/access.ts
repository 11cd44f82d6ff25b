// Who may call the controller. Transport identity comes from the verified client certificate
// (@corral/wire peerOf); revoked certificates are refused on every service.
import { bearerToken, permissionDenied, requireIdentity, unauthenticated, type Authorize, type Peer } from "@corral/wire";
import type { CertificateRecords } from "./revocation.js";

function refuseRevoked(certs: CertificateRecords, peer: Peer): void {
  if (peer.identity && certs.isRevoked(peer.serial)) {
    throw permissionDenied(`the caller's certificate (serial ${peer.serial}, ${peer.identity.kind} ${peer.identity.name}) has been revoked`);
  }
}

/**
 * ControllerService: people. A verified user certificate (the admin's from `corral cluster init`)
 * OR a bearer token. Hosts and the controller's own certificate are refused: a host has no business
 * driving the cluster.
 */
export function controllerAccess(certs: CertificateRecords, users: Authorize): Authorize {
  return (peer, method) => {
    refuseRevoked(certs, peer);
    if (peer.identity) requireIdentity(peer, `ControllerService.${method}`, ["user"]);
    // The admin certificate from `corral cluster init` is the administrator; anyone else shows a
    // bearer token, and the role table decides (auth/).
    const bearer = bearerToken(peer.metadata);
    if (bearer === undefined) {
      if (peer.identity?.kind === "user") return;
      throw unauthenticated(
        `permission denied: no credential: ControllerService.${method} needs a bearer token or a client certificate issued by this cluster's CA; the caller (${peer.address}) presented no token and no certificate that verifies`,
      );
    }
    users(peer, method);
  };
}

/**
 * RegistryService: a host certificate must be the one on record for that host (issued at its join,
 * dropped by `host rm`); the handlers then check that the host speaks only for itself. Join needs
 * no certificate.
 */
export function registryAccess(certs: CertificateRecords): Authorize {
  return (peer) => {
    refuseRevoked(certs, peer);
    const id = peer.identity;
    if (id?.kind !== "host") return;
    const onRecord = certs.hostCertificate(id.name);
    if (!onRecord) throw permissionDenied(`host ${id.name} has no certificate on record (it was removed, or never joined); join it with a new token from "corral host join-token"`);
    if (onRecord.serial !== peer.serial) throw permissionDenied(`this certificate of host ${id.name} (serial ${peer.serial}) is not the one on record (serial ${onRecord.serial})`);
  };
}
