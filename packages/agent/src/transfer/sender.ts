// Source side of a migration: archive the stopped container and stream it straight to the target
// agent (the controller never relays bytes), reporting progress back to the controller. The bytes
// go on the target's data listener (data-link.ts) when the controller names one, else on gRPC.
import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import type { Logger } from "pino";
import {
  AgentClient,
  CorralError,
  type ArchiveChunk,
  type SendArchive,
  type TlsCredentials,
  type TransferHeader,
  type TransferProgress,
  type TransferTrailer,
} from "@corral/wire";
import type { BackendRegistry } from "../backends/registry.js";
import { hasPreCopy, type ArchiveOut, type Backend, type PreCopy } from "../backends/backend.js";
import { treeSize } from "../archive/tar-stream.js";
import { sendTree } from "./tree-sync.js";
import { compress, type Filtered } from "./compression.js";
import { rechunk } from "./rechunk.js";
import { DATA_BATCH, FRAME, MAX_DATA_FRAME, batches, dialData, frameHeader, readControl, writeAll, writeControl } from "./data-link.js";

const PROGRESS_EVERY_MS = 250;

/** Counts and hashes what leaves, and paces it for --bwlimit (the average stays at the limit). */
class Outflow {
  readonly hash: Hash = createHash("sha256");
  bytes = 0;
  private readonly began = Date.now();
  /** Bytes gathered into one frame: under a limit, small enough that pacing keeps a fine grain. */
  readonly batch: number;
  constructor(private readonly limit: number) {
    this.batch = limit > 0 ? Math.min(DATA_BATCH, Math.max(64 * 1024, Math.floor(limit / 8))) : DATA_BATCH;
  }
  async pace(): Promise<void> {
    const ahead = this.limit > 0 ? (this.bytes * 1000) / this.limit - (Date.now() - this.began) : 0;
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }
  count(data: Buffer): Buffer {
    this.hash.update(data);
    this.bytes += data.length;
    return data;
  }
}

interface Sending {
  req: SendArchive;
  out: ArchiveOut;
  wire: Filtered;
  header: TransferHeader;
  flow: Outflow;
  tls: TlsCredentials;
  signal: AbortSignal;
}

export async function* sendArchive(
  req: SendArchive,
  registry: BackendRegistry,
  hostName: string,
  tls: TlsCredentials,
  log: Logger,
  signal: AbortSignal,
): AsyncGenerator<TransferProgress> {
  const backend = registry.get(req.ref.backend);
  // Durations in the log lines: a pre-copy's final pass and rest archive are its downtime.
  const t0 = performance.now();
  const passLogged = (bytes: number) => {
    log.info({ ct: req.ref.name, pass: req.precopyPass, bytes, target: req.targetAddress, ms: Math.round(performance.now() - t0) }, "pre-copy pass sent");
    return bytes;
  };
  if (req.precopyPass === "first") {
    // The first pass announces the tree's size; the final one, taken during downtime, does not walk it.
    const tree = await preCopier(backend).precopyTree(req.ref.name);
    const totalBytes = await treeSize(tree);
    let bytes = 0;
    const pass = syncPass(req, { tree, format: backend.archiveFormat, totalBytes }, hostName, tls, signal, (n) => (bytes += n));
    const synced = passLogged(yield* progressUntil(pass.done, () => ({ bytes, totalBytes, done: false, sha256: "" })));
    yield { bytes: synced, totalBytes: synced, done: true, sha256: "" };
    return;
  }
  // The final pass and the rest archive go at once, on two connections: the target extracts the
  // archive beside the tree while rsync finishes it, and waits for the pass before it checks the
  // tree. The archive follows the pass's admission, which marks the pass as under way there.
  let passBytes = 0;
  let finalPass: Promise<number> | undefined;
  // Ends the final pass when the archive fails: neither is any use without the other.
  const passStop = new AbortController();
  if (req.precopyPass === "final") {
    const tree = await preCopier(backend).precopyTree(req.ref.name);
    const pass = syncPass(req, { tree, format: backend.archiveFormat, totalBytes: 0 }, hostName, tls, AbortSignal.any([signal, passStop.signal]), (n) => (passBytes += n));
    finalPass = pass.done.then(passLogged);
    finalPass.catch(() => undefined);
    await Promise.race([pass.admitted, finalPass]);
  }
  const tArchive = performance.now();
  // After the last pass, only the rest of the container goes as an archive.
  const out = await (req.precopyPass === "final" ? preCopier(backend).archiveRest(req.ref.name) : backend.archive(req.ref.name)).catch((err: unknown) => {
    passStop.abort();
    throw err;
  });
  const wire = compress(out.stream, req.compression);
  // When the target refuses early, tar dies of a broken pipe: that outcome is reported via the call.
  out.finished.catch(() => undefined);
  wire.finished.catch(() => undefined);
  const header: TransferHeader = {
    token: req.token,
    ref: req.ref,
    compression: req.compression,
    totalBytes: out.estimatedBytes,
    sourceHost: hostName,
    archiveFormat: out.format,
  };
  const s: Sending = { req, out, wire, header, flow: new Outflow(req.bwlimitBytesPerSecond ?? 0), tls, signal };
  const { sending, close } = req.dataAddress ? overDataLink(s) : overGrpc(s);
  // A final pass that fails fails the transfer, archive and all.
  const both = finalPass ? Promise.all([sending, finalPass]).then(([theirs]) => theirs) : sending;
  try {
    const theirs = yield* progressUntil(
      both.catch((err: Error) => {
        // Kill tar if the target failed first, so nothing keeps reading the container.
        out.stream.destroy();
        // A socket's own errors (ECONNRESET…) carry codes that are not ours.
        const code = err instanceof CorralError ? err.code : "aborted";
        throw new CorralError(code, `sending ${req.ref.name} to ${req.targetAddress} failed: ${err.message}`, { cause: err });
      }),
      () => ({ bytes: passBytes + s.flow.bytes, totalBytes: passBytes + header.totalBytes, done: false, sha256: "" }),
    );
    // What the final pass sent counts with the archive's bytes (the digest is the archive's).
    const carried = finalPass ? await finalPass : 0;
    const ours = { sha256: s.flow.hash.digest("hex"), bytes: s.flow.bytes };
    if (theirs.sha256 !== ours.sha256 || theirs.bytes !== ours.bytes) {
      throw new CorralError("aborted", `checksum mismatch: sent ${ours.bytes} bytes ${ours.sha256}, target got ${theirs.bytes} bytes ${theirs.sha256}`);
    }
    log.info({ ct: req.ref.name, bytes: ours.bytes, target: req.targetAddress, via: req.dataAddress ? "data link" : "grpc", ms: Math.round(performance.now() - tArchive) }, "archive sent and verified by the target");
    yield { bytes: carried + ours.bytes, totalBytes: carried + header.totalBytes, done: true, sha256: ours.sha256 };
  } finally {
    out.stream.destroy();
    close();
    passStop.abort();
  }
}

/** Yields `progress()` every PROGRESS_EVERY_MS until `work` settles; returns what it resolves with. */
async function* progressUntil<T>(work: Promise<T>, progress: () => TransferProgress): AsyncGenerator<TransferProgress, T> {
  let settled = false;
  const result = work.finally(() => (settled = true));
  result.catch(() => undefined);
  while (!settled) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, PROGRESS_EVERY_MS))]);
    if (!settled) yield progress();
  }
  return result;
}

function preCopier(backend: Backend): Backend & PreCopy {
  if (!hasPreCopy(backend)) throw new CorralError("failed_precondition", `the ${backend.name} backend has no pre-copy`);
  return backend;
}

/**
 * One pre-copy pass of `pass.tree` on the target's data listener (tree-sync.ts); `onBytes` counts what
 * it sends. `admitted` resolves once the target took the pass (it is then under way there), `done`
 * with the bytes sent once the target's rsync has finished too.
 */
function syncPass(req: SendArchive, pass: { tree: string; format: string; totalBytes: number }, hostName: string, tls: TlsCredentials, signal: AbortSignal, onBytes: (n: number) => void): { admitted: Promise<void>; done: Promise<number> } {
  let admit: () => void = () => undefined;
  const admitted = new Promise<void>((r) => (admit = r));
  const done = (async () => {
    if (!req.dataAddress) throw new CorralError("failed_precondition", "a pre-copy pass needs the target's data listener");
    const sock = await dialData(req.dataAddress, tls, req.targetHost, signal);
    let bytes = 0;
    try {
      const header: TransferHeader = { token: req.token, ref: req.ref, compression: req.compression, totalBytes: pass.totalBytes, sourceHost: hostName, archiveFormat: pass.format };
      writeControl(sock, FRAME.header, { mode: "rsync", ...header });
      const admission = await readControl(sock, "the target's admission");
      if (admission.kind !== FRAME.admitted) throw new CorralError("aborted", "the target answered the header with something other than admission");
      admit();
      await sendTree(sock, pass.tree, { bwlimitBytesPerSecond: req.bwlimitBytesPerSecond ?? 0, signal, onBytes: (n) => { bytes += n; onBytes(n); }, vanishedOk: req.precopyPass === "first" });
      // The target closes the connection once its rsync has finished too: only then is the pass its.
      if (!sock.readableEnded && !sock.destroyed) await Promise.race([once(sock, "close"), once(sock, "end"), new Promise((r) => setTimeout(r, 10_000).unref())]);
    } catch (err) {
      const code = err instanceof CorralError ? err.code : "aborted";
      throw new CorralError(code, `pre-copy of ${req.ref.name} to ${req.targetAddress} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      sock.destroy();
    }
    return bytes;
  })();
  return { admitted, done };
}

/** A batch as data frames of at most MAX_DATA_FRAME bytes (a stream may hand on any size of piece). */
function* framed(parts: Buffer[]): Generator<Buffer[]> {
  let frame: Buffer[] = [];
  let len = 0;
  for (const p of parts) {
    for (let at = 0; at < p.length; ) {
      const piece = p.subarray(at, at + MAX_DATA_FRAME - len);
      frame.push(piece);
      len += piece.length;
      at += piece.length;
      if (len === MAX_DATA_FRAME) {
        yield frame;
        frame = [];
        len = 0;
      }
    }
  }
  if (frame.length) yield frame;
}

const cancelled = () => new CorralError("cancelled", "transfer cancelled by the controller");

/** The digest the trailer carries; only a producer that exited cleanly may send it. */
async function trailerOf(s: Sending): Promise<TransferTrailer> {
  await Promise.all([s.out.finished, s.wire.finished]);
  return { sha256: s.flow.hash.copy().digest("hex"), bytes: s.flow.bytes };
}

function overDataLink(s: Sending): { sending: Promise<TransferTrailer>; close: () => void } {
  const dialled = dialData(s.req.dataAddress!, s.tls, s.req.targetHost, s.signal);
  const sending = (async () => {
    const sock = await dialled;
    writeControl(sock, FRAME.header, { mode: "archive", ...s.header });
    const admission = await readControl(sock, "the target's admission");
    if (admission.kind !== FRAME.admitted) throw new CorralError("aborted", "the target answered the header with something other than admission");
    // The target may refuse mid-stream (size cap, unsafe archive): its answer ends the pump.
    const answer = readControl(sock, "the target's result");
    answer.catch(() => sock.destroy());
    const pump = (async () => {
      for await (const parts of batches(s.wire.stream, s.flow.batch)) {
        if (s.signal.aborted) throw cancelled();
        await s.flow.pace();
        for (const frame of framed(parts)) {
          let len = 0;
          for (const p of frame) len += s.flow.count(p).length;
          await writeAll(sock, frameHeader(FRAME.data, len), ...frame);
        }
      }
      writeControl(sock, FRAME.end, await trailerOf(s));
    })();
    await Promise.race([pump, answer]);
    const { kind, value } = await answer;
    if (kind !== FRAME.result) throw new CorralError("aborted", "the target ended the transfer without a result");
    return { sha256: typeof value.sha256 === "string" ? value.sha256 : "", bytes: typeof value.bytes === "number" ? value.bytes : -1 };
  })();
  return { sending, close: () => void dialled.then((sock) => sock.destroy(), () => undefined) };
}

function overGrpc(s: Sending): { sending: Promise<TransferTrailer>; close: () => void } {
  const { flow } = s;
  async function* chunks(): AsyncGenerator<ArchiveChunk> {
    yield { kind: "header", header: s.header };
    // One chunk is held back so that the last two leave together (a receiver that does not drain
    // tar's padding after the end-of-archive marker would otherwise see "Premature close").
    let held: Buffer | undefined;
    for await (const data of rechunk(s.wire.stream)) {
      if (s.signal.aborted) throw cancelled();
      if (held) {
        await flow.pace();
        yield { kind: "data", data: flow.count(held) };
      }
      held = data;
    }
    if (held) yield { kind: "data", data: flow.count(held) };
    yield { kind: "trailer", trailer: await trailerOf(s) };
  }
  // Dialled with this host's certificate (the target accepts archives only from a host identity), and
  // the target must prove it is the host the controller named, whoever answers at the address.
  const target = new AgentClient(s.req.targetAddress, s.tls, { kind: "host", name: s.req.targetHost }, `target agent ${s.req.targetHost} at ${s.req.targetAddress}`);
  return { sending: target.receiveArchive(chunks()), close: () => target.close() };
}
