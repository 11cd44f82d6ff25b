// The cluster's X.509 material, made with @peculiar/x509 on Node's WebCrypto (ECDSA P-256): the CA,
// certificates that name one identity (SAN URI corral://host/NAME, corral://controller,
// corral://user/NAME), and the certificate requests a joining host sends. No certificate bytes are
// written by hand here; this file only chooses names, lifetimes and extensions.
import { KeyObject, createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509 } from "node:crypto";
import type * as X509 from "@peculiar/x509";
import { invalidArgument, permissionDenied } from "../domain/errors.js";
import { identityOfCertificate, identityUri, type Identity } from "../rpc/identity.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

let library: Promise<typeof X509> | undefined;
/**
 * @peculiar/x509, loaded on first use: with tsyringe and the Reflect metadata API it resolves its
 * ASN.1 types through, it took 290 ms to import, which every `corral` command and daemon start
 * paid while few make a certificate. Reading certificates and keys uses Node's own crypto.
 */
function loadX509(): Promise<typeof X509> {
  library ??= (async () => {
    await import("reflect-metadata");
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    return lib;
  })();
  return library;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3650;
export const CERT_VALIDITY_DAYS = 365;

/** PEM texts of one party: the cluster CA it trusts, its own certificate and private key. */
export interface TlsCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** The CA with its private key: only the controller holds one. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  /** Lower-case hex, no leading zeros: what the revocation list stores. */
  serial: string;
  notAfter: Date;
}

/** PEM files end with a newline, so that concatenating them (a chain) stays valid PEM. */
const withNewline = (pem: string) => (pem.endsWith("\n") ? pem : `${pem}\n`);

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

function keyToPem(key: CryptoKey): string {
  return withNewline(KeyObject.from(key).export({ type: "pkcs8", format: "pem" }) as string);
}

async function keyFromPem(pem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
  } catch (err) {
    throw invalidArgument("no PEM private key found", err);
  }
  return webcrypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"]);
}

/** A positive serial of 16 random bytes (top bit clear, so DER adds no leading zero). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

export function normalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

export async function createCertificateAuthority(commonName = "Corral cluster CA"): Promise<CertificateAuthority> {
  const x509 = await loadX509();
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ CN: [commonName] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: withNewline(cert.toString("pem")), keyPem: keyToPem(keys.privateKey) };
}

/** A key pair and a certificate request for `identity`, made where the key will live (a joining host). */
export async function createCertificateRequest(identity: Identity): Promise<{ csrPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [identity.name] }],
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: identityUri(identity) }])],
  });
  return { csrPem: withNewline(csr.toString("pem")), keyPem: keyToPem(keys.privateKey) };
}

/**
 * Signs a certificate for `identity` over the public key of a verified request. The identity comes
 * from the caller (the controller decides who this is), never from the request's own subject.
 */
export async function issueFromRequest(
  ca: CertificateAuthority,
  csrPem: string,
  identity: Identity,
  validityMs = CERT_VALIDITY_DAYS * DAY_MS,
): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw invalidArgument("the certificate request is not a PEM PKCS#10 request", err);
  }
  if (!(await csr.verify())) throw permissionDenied("the certificate request's signature does not verify (no proof of the private key)");
  return sign(ca, csr.publicKey, identity, validityMs);
}

async function sign(
  ca: CertificateAuthority,
  publicKey: X509.PublicKey | CryptoKey,
  identity: Identity,
  validityMs: number,
): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const serial = newSerial();
  const notAfter = new Date(now + validityMs);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ CN: [identity.name] }],
    issuer: caCert.subject,
    notBefore: new Date(Math.min(now - 60_000, notAfter.getTime() - 1000)),
    notAfter,
    publicKey,
    signingKey: await keyFromPem(ca.keyPem),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: identityUri(identity) }]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: withNewline(cert.toString("pem")), serial: normalSerial(serial), notAfter };
}

/** Key and certificate for `identity` made in one place (the controller's own, the admin's, tests). */
export async function issueCredentials(
  ca: CertificateAuthority,
  identity: Identity,
  validityMs = CERT_VALIDITY_DAYS * DAY_MS,
): Promise<TlsCredentials & { serial: string }> {
  const keys = await newKeys();
  const issued = await sign(ca, keys.publicKey, identity, validityMs);
  return { ca: ca.certPem, cert: issued.certPem, key: keyToPem(keys.privateKey), serial: issued.serial };
}

/** sha256 of the certificate's DER, lower-case hex: what a join token pins (kubeadm's discovery hash). */
export function certFingerprint(certPemOrDer: string | Buffer): string {
  let der = certPemOrDer;
  if (typeof der === "string") {
    try {
      der = new NodeX509(der).raw;
    } catch (err) {
      throw invalidArgument("no PEM certificate found", err);
    }
  }
  if (der.length === 0) throw invalidArgument("no PEM certificate found");
  return createHash("sha256").update(der).digest("hex");
}

/** Checks that `certPem` was signed by the CA, is in its validity window, and names one identity. */
export function verifyIssued(caPem: string, certPem: string): Identity {
  const ca = new NodeX509(caPem);
  const cert = new NodeX509(certPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw permissionDenied("certificate was not issued by this cluster's CA");
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw permissionDenied(`certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
  const id = identityOfCertificate({ subjectaltname: cert.subjectAltName ?? "" });
  if (!id) throw permissionDenied("certificate names no Corral identity");
  return id;
}
