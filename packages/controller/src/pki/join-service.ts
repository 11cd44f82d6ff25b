// Join: a host without a certificate trades a one-use token and a certificate request for a
// certificate that names it. The name must be free: a host that exists (or has a certificate on
// record) is removed with `corral host rm` first, so a token holder cannot take over a host's name.
import { alreadyExists, issueFromRequest, validateName, type JoinRequest, type JoinResponse } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { checkJoinToken, markJoinTokenUsed } from "./join-tokens.js";

export async function joinHost(ctx: ControllerContext, req: JoinRequest): Promise<JoinResponse> {
  const { pki, certs } = ctx.identity;
  const tokenId = checkJoinToken(ctx.store.db, req.token, pki.fingerprint);
  validateName("host", req.host);
  const nameTaken = () => {
    if (getHost(ctx.store.db, req.host) || certs.hostCertificate(req.host)) {
      throw alreadyExists(`host ${req.host} already exists; remove it with "corral host rm ${req.host}" before joining a host by that name`);
    }
  };
  nameTaken();
  const issued = await issueFromRequest(pki.ca, req.csrPem, { kind: "host", name: req.host });
  // Signing awaited: check again and use the token up in one transaction, so two joins racing with
  // one token (or for one name) cannot both get a certificate.
  ctx.store.tx(() => {
    nameTaken();
    if (!markJoinTokenUsed(ctx.store.db, tokenId, req.host)) checkJoinToken(ctx.store.db, req.token, pki.fingerprint);
    certs.recordHostCertificate(req.host, issued.serial, issued.notAfter.getTime());
  });
  ctx.log.info({ host: req.host, serial: issued.serial }, "host joined: certificate issued");
  return { certPem: issued.certPem, caPem: pki.ca.certPem };
}
