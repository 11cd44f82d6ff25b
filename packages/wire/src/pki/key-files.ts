// Where certificates and keys live on disk, and how they are written: directories 0700, private keys
// 0600, nothing overwritten by accident. Used by `corral cluster init`, the controller and the agent.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { failedPrecondition, messageOf } from "../domain/errors.js";
import { CONTROLLER_IDENTITY, type Identity } from "../rpc/identity.js";
import { certFingerprint, createCertificateAuthority, issueCredentials, type CertificateAuthority, type TlsCredentials } from "./certs.js";

/** A private directory; an existing one is tightened to 0700 as well. */
export function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** Writes a file that must not exist yet; keys get 0600, certificates 0644. */
export function writeNew(path: string, text: string, secret: boolean): void {
  try {
    writeFileSync(path, text, { mode: secret ? 0o600 : 0o644, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw failedPrecondition(`${path} already exists; refusing to overwrite it`, err);
    throw err;
  }
}

function readPem(path: string, what: string, hint: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw failedPrecondition(`cannot read ${what} ${path} (${messageOf(err)}); ${hint}`, err);
  }
}

// ---- the controller's state directory: <stateDir>/pki/ ----

export interface ClusterPaths {
  dir: string;
  caCert: string;
  caKey: string;
  controllerCert: string;
  controllerKey: string;
  adminCert: string;
  adminKey: string;
}

export function clusterPaths(stateDir: string): ClusterPaths {
  const dir = join(stateDir, "pki");
  return {
    dir,
    caCert: join(dir, "ca.pem"),
    caKey: join(dir, "ca.key"),
    controllerCert: join(dir, "controller.pem"),
    controllerKey: join(dir, "controller.key"),
    adminCert: join(dir, "admin.pem"),
    adminKey: join(dir, "admin.key"),
  };
}

export const ADMIN_IDENTITY: Identity = { kind: "user", name: "admin" };

/** Creates the cluster CA, the controller's certificate and the first admin's client certificate. */
export async function initClusterPki(stateDir: string): Promise<ClusterPaths & { fingerprint: string }> {
  const p = clusterPaths(stateDir);
  privateDir(stateDir);
  privateDir(p.dir);
  const ca = await createCertificateAuthority();
  const controller = await issueCredentials(ca, CONTROLLER_IDENTITY);
  const admin = await issueCredentials(ca, ADMIN_IDENTITY);
  // The CA key first: if it exists, the cluster was initialised already and nothing is touched.
  writeNew(p.caKey, ca.keyPem, true);
  writeNew(p.caCert, ca.certPem, false);
  writeNew(p.controllerKey, controller.key, true);
  writeNew(p.controllerCert, controller.cert, false);
  writeNew(p.adminKey, admin.key, true);
  writeNew(p.adminCert, admin.cert, false);
  return { ...p, fingerprint: certFingerprint(ca.certPem) };
}

export interface ClusterPki {
  ca: CertificateAuthority;
  /** The controller's own server credentials. */
  controller: TlsCredentials;
  /** sha256 of the CA certificate's DER, hex. */
  fingerprint: string;
}

export function loadClusterPki(stateDir: string): ClusterPki {
  const p = clusterPaths(stateDir);
  const hint = `run "corral cluster init --state-dir ${stateDir}" first`;
  const caPem = readPem(p.caCert, "the cluster CA certificate", hint);
  return {
    ca: { certPem: caPem, keyPem: readPem(p.caKey, "the cluster CA key", hint) },
    controller: { ca: caPem, cert: readPem(p.controllerCert, "the controller certificate", hint), key: readPem(p.controllerKey, "the controller key", hint) },
    fingerprint: certFingerprint(caPem),
  };
}

/** The admin client credentials `cluster init` wrote (for tests and for writing the CLI config). */
export function readAdminCredentials(stateDir: string): TlsCredentials {
  const p = clusterPaths(stateDir);
  const hint = `run "corral cluster init --state-dir ${stateDir}" first`;
  return { ca: readPem(p.caCert, "the cluster CA certificate", hint), cert: readPem(p.adminCert, "the admin certificate", hint), key: readPem(p.adminKey, "the admin key", hint) };
}

// ---- an agent's state directory: <stateDir>/tls/ ----

export interface HostPaths {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export function hostPaths(stateDir: string): HostPaths {
  const dir = join(stateDir, "tls");
  return { dir, ca: join(dir, "ca.pem"), cert: join(dir, "host.pem"), key: join(dir, "host.key") };
}

export function writeHostCredentials(stateDir: string, creds: TlsCredentials): HostPaths {
  const p = hostPaths(stateDir);
  privateDir(p.dir);
  writeNew(p.key, creds.key, true);
  writeNew(p.cert, creds.cert, false);
  writeNew(p.ca, creds.ca, false);
  return p;
}

/** The stored host credentials, or undefined when this host never joined. */
export function readHostCredentials(stateDir: string): TlsCredentials | undefined {
  const p = hostPaths(stateDir);
  try {
    return { ca: readFileSync(p.ca, "utf8"), cert: readFileSync(p.cert, "utf8"), key: readFileSync(p.key, "utf8") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw failedPrecondition(`cannot read this host's credentials in ${p.dir}: ${messageOf(err)}`, err);
  }
}
