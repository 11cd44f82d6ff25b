// Source side of a migration: archive the stopped container and stream it straight to the target
// agent (the controller never relays bytes), reporting progress back to the controller.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { AgentClient, CorralError, type ArchiveChunk, type SendArchive, type TlsCredentials, type TransferProgress } from "@corral/wire";
import type { BackendRegistry } from "../backends/registry.js";
import { compress } from "./compression.js";
import { rechunk } from "./rechunk.js";

const PROGRESS_EVERY_MS = 250;

export async function* sendArchive(
  req: SendArchive,
  registry: BackendRegistry,
  hostName: string,
  tls: TlsCredentials,
  log: Logger,
  signal: AbortSignal,
): AsyncGenerator<TransferProgress> {
  const backend = registry.get(req.ref.backend);
  const out = await backend.archive(req.ref.name);
  const wire = compress(out.stream, req.compression);
  // When the target refuses early, tar dies of a broken pipe: that outcome is reported via the call.
  out.finished.catch(() => undefined);
  wire.finished.catch(() => undefined);
  const hash = createHash("sha256");
  let bytes = 0;
  let digest = "";
  const totalBytes = out.estimatedBytes;

  async function* chunks(): AsyncGenerator<ArchiveChunk> {
    yield {
      kind: "header",
      header: {
        token: req.token,
        ref: req.ref,
        compression: req.compression,
        totalBytes,
        sourceHost: hostName,
        archiveFormat: out.format,
      },
    };
    // --bwlimit: pace the chunks so the average stays at the limit (a few lines here; a throttling
    // stream library would need one more stream stage). One chunk is held back so that the last two
    // leave together: the receiving tar exits at the end-of-archive marker, and padding that
    // arrives after a pause would then find its pipe closed ("Premature close").
    const limit = req.bwlimitBytesPerSecond ?? 0;
    const began = Date.now();
    const pace = async () => {
      const ahead = limit > 0 ? (bytes * 1000) / limit - (Date.now() - began) : 0;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    };
    const emit = (data: Buffer): ArchiveChunk => {
      hash.update(data);
      bytes += data.length;
      return { kind: "data", data };
    };
    let held: Buffer | undefined;
    for await (const data of rechunk(wire.stream)) {
      if (signal.aborted) throw new CorralError("cancelled", "transfer cancelled by the controller");
      if (held) {
        await pace();
        yield emit(held);
      }
      held = data;
    }
    if (held) yield emit(held);
    // Only a producer that exited cleanly may send the trailer; otherwise the target discards all.
    await Promise.all([out.finished, wire.finished]);
    digest = hash.digest("hex");
    yield { kind: "trailer", trailer: { sha256: digest, bytes } };
  }

  // Dialled with this host's certificate (the target accepts archives only from a host identity), and
  // the target must prove it is the host the controller named, whoever answers at the address.
  const target = new AgentClient(req.targetAddress, tls, { kind: "host", name: req.targetHost }, `target agent ${req.targetHost} at ${req.targetAddress}`);
  let settled = false;
  const result = target.receiveArchive(chunks()).finally(() => (settled = true));
  result.catch(() => undefined);
  try {
    while (!settled) {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, PROGRESS_EVERY_MS))]);
      if (!settled) yield { bytes, totalBytes, done: false, sha256: "" };
    }
    const theirs = await result.catch((err: CorralError) => {
      // Kill tar if the target failed first, so nothing keeps reading the container.
      out.stream.destroy();
      throw new CorralError(err.code ?? "aborted", `sending ${req.ref.name} to ${req.targetAddress} failed: ${err.message}`, { cause: err });
    });
    const ours = { sha256: digest, bytes };
    if (theirs.sha256 !== ours.sha256 || theirs.bytes !== ours.bytes) {
      throw new CorralError("aborted", `checksum mismatch: sent ${ours.bytes} bytes ${ours.sha256}, target got ${theirs.bytes} bytes ${theirs.sha256}`);
    }
    log.info({ ct: req.ref.name, bytes, target: req.targetAddress }, "archive sent and verified by the target");
    yield { bytes, totalBytes, done: true, sha256: ours.sha256 };
  } finally {
    out.stream.destroy();
    target.close();
  }
}
