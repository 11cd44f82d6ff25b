// The join token's text: "corral1:<sha256 of the CA certificate, hex>:<id>.<secret>". The id finds
// the token's row, the secret proves it (only its hash is stored), and the CA hash lets the joining
// host check the controller before it sends anything, as kubeadm's discovery-token-ca-cert-hash does.
import { invalidArgument } from "../domain/errors.js";

export interface ParsedJoinToken {
  caFingerprint: string;
  id: string;
  secret: string;
}

const FORMAT = /^corral1:([0-9a-f]{64}):([0-9a-f]{12})\.([0-9a-f]{32})$/;

export function formatJoinToken(t: ParsedJoinToken): string {
  return `corral1:${t.caFingerprint}:${t.id}.${t.secret}`;
}

export function parseJoinToken(text: string): ParsedJoinToken {
  const m = FORMAT.exec(text.trim());
  if (!m) throw invalidArgument("malformed join token: expected corral1:<64 hex CA hash>:<12 hex id>.<32 hex secret>, as printed by \"corral host join-token\"");
  return { caFingerprint: m[1]!, id: m[2]!, secret: m[3]! };
}
