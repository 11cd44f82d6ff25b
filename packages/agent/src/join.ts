// `corral-agent --join TOKEN`: learn the controller's CA from its TLS handshake, check it against the
// hash pinned in the token before sending anything (kubeadm's discovery-token-ca-cert-hash), then
// trade the token and a certificate request for this host's certificate, and store key, certificate
// and CA in the state directory. A later start uses what is stored.
import { connect, type DetailedPeerCertificate } from "node:tls";
import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import {
  CorralError,
  RegistryClient,
  TLS_SERVER_NAME,
  certFingerprint,
  checkServerIdentity,
  CONTROLLER_IDENTITY,
  createCertificateRequest,
  failedPrecondition,
  hostPaths,
  invalidArgument,
  messageOf,
  parseJoinToken,
  permissionDenied,
  readHostCredentials,
  unavailable,
  verifyIssued,
  writeHostCredentials,
  type TlsCredentials,
} from "@corral/wire";

/** The stored credentials; joins first when there are none and a token is given. */
export async function hostCredentials(opts: { name: string; stateDir: string; controller: string; join: string | undefined }, log: Logger): Promise<TlsCredentials> {
  const stored = readHostCredentials(opts.stateDir);
  if (stored) {
    // A state directory copied to another host, or an expired certificate, fails here and says so.
    const named = verifyIssued(stored.ca, stored.cert);
    if (named.kind !== "host" || named.name !== opts.name) {
      throw failedPrecondition(`the certificate in ${hostPaths(opts.stateDir).dir} names ${named.kind} ${named.name}, not host ${opts.name}`);
    }
    if (opts.join) log.warn({ dir: hostPaths(opts.stateDir).dir }, "this host has joined already; --join is ignored");
    return stored;
  }
  if (!opts.join) {
    throw failedPrecondition(
      `this host has no certificate in ${hostPaths(opts.stateDir).dir}: start it once with --join TOKEN (from "corral host join-token")`,
    );
  }
  const creds = await joinCluster(opts.controller, opts.join, opts.name);
  writeHostCredentials(opts.stateDir, creds);
  log.info({ controller: opts.controller, dir: hostPaths(opts.stateDir).dir }, "joined the cluster: host certificate stored");
  return creds;
}

export async function joinCluster(controller: string, token: string, host: string): Promise<TlsCredentials> {
  const pinned = parseJoinToken(token).caFingerprint;
  const ca = await discoverCa(controller, pinned);
  const { csrPem, keyPem } = await createCertificateRequest({ kind: "host", name: host });
  const reg = new RegistryClient(controller, { ca });
  let certPem: string;
  try {
    ({ certPem } = await reg.join({ token, host, csrPem }));
  } finally {
    reg.close();
  }
  const named = verifyIssued(ca, certPem);
  if (named.kind !== "host" || named.name !== host) throw permissionDenied(`the controller issued a certificate for ${named.kind} ${named.name}, not for host ${host}`);
  return { ca, cert: certPem, key: keyPem };
}

/**
 * The CA certificate the controller presents in its chain, accepted only when its sha256 is the one
 * pinned in the join token and it signed the controller's own certificate.
 */
export function discoverCa(controller: string, pinnedFingerprint: string, timeoutMs = 10_000): Promise<string> {
  const m = /^(?:dns:(?:\/\/\/)?|ipv4:)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(controller);
  if (!m) return Promise.reject(invalidArgument(`invalid --controller "${controller}": expected HOST:PORT`));
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return new Promise<string>((resolve, reject) => {
    // Nothing is trusted yet: the chain is read unverified and checked against the pin below.
    const sock = connect({ host, port: Number(m[2]), servername: TLS_SERVER_NAME, rejectUnauthorized: false, ALPNProtocols: ["h2"] });
    const fail = (err: Error) => {
      sock.destroy();
      reject(err instanceof CorralError ? err : unavailable(`cannot reach the controller at ${controller} to join: ${err.message}`, err));
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)));
    sock.once("error", fail);
    sock.once("secureConnect", () => {
      try {
        const leaf = sock.getPeerCertificate(true);
        const ca = chainOf(leaf).find((c) => certFingerprint(c.raw) === pinnedFingerprint);
        if (!ca) throw permissionDenied(`the controller at ${controller} does not present the CA pinned in the join token (sha256 ${pinnedFingerprint}); refusing to send the token`);
        const caPem = new X509Certificate(ca.raw).toString();
        const leafPem = new X509Certificate(leaf.raw).toString();
        verifyIssued(caPem, leafPem);
        const wrong = checkServerIdentity(CONTROLLER_IDENTITY, leaf);
        if (wrong) throw permissionDenied(`the controller at ${controller}: ${wrong.message}`);
        sock.end();
        resolve(caPem);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(messageOf(err)));
      }
    });
  });
}

function chainOf(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  for (let c: DetailedPeerCertificate | undefined = leaf; c && c.raw && !chain.includes(c); c = c.issuerCertificate) chain.push(c);
  return chain;
}
