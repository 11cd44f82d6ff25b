// TLS for tests, made the way a real cluster makes it: `cluster init` files in a temp state
// directory, and hosts that get their certificate through the real Join call with a join token.
import {
  ControllerClient,
  createCertificateRequest,
  initClusterPki,
  readAdminCredentials,
  RegistryClient,
  type TlsCredentials,
} from "@corral/wire";

/** Runs `cluster init` into `stateDir` and returns the admin's client credentials. */
export async function initTestCluster(stateDir: string): Promise<TlsCredentials> {
  await initClusterPki(stateDir);
  return readAdminCredentials(stateDir);
}

/** A join token from the admin, then Join as `host`: the host's credentials, as an agent stores them. */
export async function joinHost(address: string, admin: TlsCredentials, host: string): Promise<TlsCredentials> {
  const ctl = new ControllerClient(address, admin);
  try {
    const { token } = await ctl.createJoinToken(60);
    return await joinWithToken(address, admin.ca, token, host);
  } finally {
    ctl.close();
  }
}

/**
 * Join as `host` with a token already made: a key and certificate request made here, traded over a
 * connection of its own without a client certificate, as a joining agent does (its CA discovery
 * against the token's pin is the agent's business and is left out: `ca` is known here).
 */
export async function joinWithToken(address: string, ca: string, token: string, host: string): Promise<TlsCredentials> {
  const reg = new RegistryClient(address, { ca });
  try {
    const { csrPem, keyPem } = await createCertificateRequest({ kind: "host", name: host });
    const { certPem, caPem } = await reg.join({ token, host, csrPem });
    return { ca: caPem, cert: certPem, key: keyPem };
  } finally {
    reg.close();
  }
}
