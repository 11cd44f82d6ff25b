// The data path checked before a migration (ct migrate --dry-run): the source dials the target's
// data listener exactly as a transfer would (data-link.ts: mutual TLS, the target's certificate
// must name the host it claims to be) and sends a "probe" header; the target answers with what it
// has free for staging, then both close. Nothing is reserved or written on either host.
import { CorralError, messageOf, type PeerProbeResult, type ProbePeer, type TlsCredentials } from "@corral/wire";
import { FRAME, dialData, readControl, writeControl } from "./data-link.js";

const PROBE_MS = 10_000;

export async function probePeer(p: ProbePeer, sourceHost: string, tls: TlsCredentials): Promise<PeerProbeResult> {
  const t0 = Date.now();
  const fail = (err: unknown) =>
    new CorralError("unavailable", `${sourceHost} cannot reach the data listener of ${p.targetHost} at ${p.dataAddress}: ${messageOf(err)}`, { cause: err });
  // dialData gives up on a handshake that does not finish within its own deadline.
  const sock = await dialData(p.dataAddress, tls, p.targetHost).catch((err: unknown) => Promise.reject(fail(err)));
  const late = setTimeout(() => sock.destroy(new CorralError("unavailable", `no answer within ${PROBE_MS / 1000} s`)), PROBE_MS);
  try {
    writeControl(sock, FRAME.header, { mode: "probe", targetBackend: p.targetBackend });
    const { kind, value } = await readControl(sock, "the target's answer to a probe");
    if (kind !== FRAME.result) throw new CorralError("aborted", "the target answered a probe with something other than a result");
    const free = value.stagingFreeBytes;
    if (typeof free !== "number" || !Number.isSafeInteger(free) || free < 0) throw new CorralError("invalid_argument", "the target's probe answer carries no free space");
    return { stagingFreeBytes: free, roundTripMs: Date.now() - t0 };
  } catch (err) {
    throw fail(err);
  } finally {
    clearTimeout(late);
    sock.destroy();
  }
}
