// The agent-to-agent data connection: bulk migration bytes on a plain mutual-TLS socket, with the
// controller's gRPC kept for control. gRPC framing (protobuf copies, HTTP/2 flow control, rechunking)
// cost ~4× a raw pipe here; this costs TLS and a 5-byte header per pipe read.
//
// Both ends hold host certificates from the cluster CA and the handshake refuses anything else. The
// dialler sends one header frame (JSON: the transfer token and what it claims); the listener answers
// "admitted" or an error, then the bytes flow:
//   archive: data frames, an end frame carrying {sha256, bytes}, then the listener's result frame;
//   rsync:   after "admitted", the socket is rsync's own protocol in both directions until it closes.
// Frame: 1 byte kind, 4 bytes big-endian length, payload.
import { once } from "node:events";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { CorralError, TLS_SERVER_NAME, checkServerIdentity, identityOfCertificate, messageOf, type ErrorCode, type TlsCredentials } from "@corral/wire";

export const FRAME = { header: 0x48, admitted: 0x41, data: 0x44, end: 0x45, result: 0x52, error: 0x58 } as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

/** Control frames (JSON) stay small; data frames are batches of pipe reads (DATA_BATCH) or less. */
const MAX_CONTROL = 64 * 1024;
export const MAX_DATA_FRAME = 4 * 1024 * 1024;
/**
 * What a sender gathers into one data frame at most, and the largest piece a receiver reads at
 * once (a frame from a peer may be larger, up to MAX_DATA_FRAME). Larger pieces cost less each but
 * keep the next stage waiting longer: bench (b) used the least CPU at 256 KiB (2.7-2.9 s for both
 * agents, against 3.1-3.4 s at 512 KiB and 1 MiB, and 3.2-3.3 s at 128 KiB).
 */
export const DATA_BATCH = 256 * 1024;
const HEADER = 5;
const HANDSHAKE_MS = 15_000;
/**
 * A connection on which nothing moves for this long is cut (a link that went down leaves writes
 * unacknowledged, and TCP alone would wait many minutes): like the gRPC keepalive it replaces
 * (15 s + 5 s), so a short cut is ridden out and a long one fails the copy.
 */
export const IDLE_MS = 20_000;

/** The reason a socket was destroyed, or a plain "closed". */
const closedError = (s: Readable | TLSSocket, what: string): Error =>
  (s as { errored?: Error | null }).errored ?? new CorralError("aborted", `data connection closed ${what}`);

export function frameHeader(kind: FrameKind, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h[0] = kind;
  h.writeUInt32BE(length, 1);
  return h;
}

export function writeControl(sock: TLSSocket, kind: FrameKind, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  sock.write(Buffer.concat([frameHeader(kind, body.length), body]));
}

export function writeError(sock: TLSSocket, err: unknown): void {
  const code = err instanceof CorralError ? err.code : "internal";
  if (!sock.destroyed && sock.writable) writeControl(sock, FRAME.error, { code, message: messageOf(err) });
}

/** Resolves when a paused stream has something to read, ended or closed. */
function moreToRead(s: Readable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      s.off("readable", done);
      s.off("close", done);
      s.off("end", done);
      resolve();
    };
    s.on("readable", done);
    s.on("close", done);
    s.on("end", done);
  });
}

/**
 * Once a paused stream's buffer is empty: waits for more and says true, or says false at its end;
 * a stream that failed throws its error. Call it only with nothing buffered: a paused stream
 * holding anything emits "readable" at once to a new listener, so waiting then would spin.
 */
async function more(s: Readable): Promise<boolean> {
  const errored = (s as { errored?: Error | null }).errored;
  if (errored) throw errored;
  if (s.readableEnded || s.destroyed) return false;
  await moreToRead(s);
  return true;
}

/** Exactly `n` bytes from a paused socket, leaving what follows in its buffer. */
async function readExactly(s: Readable, n: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    // With nothing buffered, read() starts the socket reading, or finds the end.
    const b = s.readableEnded ? null : (s.read(Math.min(s.readableLength || n, n - got)) as Buffer | null);
    if (b !== null) {
      parts.push(b);
      got += b.length;
    } else if (!(await more(s))) throw closedError(s, got ? `in the middle of ${what}` : `before ${what}`);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
}

/** A control frame's JSON body, which must be an object. */
function controlBody(body: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new CorralError("invalid_argument", `${what}: control frame is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CorralError("invalid_argument", `${what}: control frame is not an object`);
  return value as Record<string, unknown>;
}

/** One control frame: its kind and parsed JSON. An error frame becomes the error it carries. */
export async function readControl(s: Readable, what: string): Promise<{ kind: number; value: Record<string, unknown> }> {
  const h = await readExactly(s, HEADER, what);
  const kind = h[0]!;
  const len = h.readUInt32BE(1);
  if (len > MAX_CONTROL) throw new CorralError("invalid_argument", `${what}: control frame of ${len} bytes (at most ${MAX_CONTROL})`);
  const v = controlBody(len ? await readExactly(s, len, what) : Buffer.alloc(0), what);
  if (kind === FRAME.error) {
    const code = typeof v.code === "string" ? (v.code as ErrorCode) : "internal";
    throw new CorralError(code, typeof v.message === "string" ? v.message.slice(0, 2000) : "the peer refused");
  }
  return { kind, value: v };
}

export type DataPiece = { kind: "data"; data: Buffer } | { kind: "end"; value: Record<string, unknown> };

/**
 * The archive phase of a connection: data frames come out in pieces of up to DATA_BATCH bytes,
 * then the end frame. A close before the end frame just ends the iteration (the caller reports the
 * stream as cut short).
 *
 * A piece is read whole, however many TLS records (16 KiB each) it spans: every piece costs the
 * same promise, hash call, stream hop and pipe write whatever its size. The wait cannot stall,
 * since a frame's bytes are all on their way once its header has come.
 */
export async function* dataFrames(s: Readable): AsyncGenerator<DataPiece> {
  for (;;) {
    if (s.readableLength === 0 && (s.readableEnded || s.destroyed)) return;
    let h: Buffer;
    try {
      h = await readExactly(s, HEADER, "the next frame");
    } catch (err) {
      // Closed between frames: the caller says the stream was cut short.
      if (s.readableLength === 0 && !(s as { errored?: Error | null }).errored) return;
      throw err;
    }
    const kind = h[0]!;
    const len = h.readUInt32BE(1);
    if (kind === FRAME.data) {
      if (len === 0 || len > MAX_DATA_FRAME) throw new CorralError("invalid_argument", `data frame of ${len} bytes (1 to ${MAX_DATA_FRAME})`);
      for (let left = len; left > 0; ) {
        const data = await readExactly(s, Math.min(left, DATA_BATCH), "a data frame");
        left -= data.length;
        yield { kind: "data", data };
      }
    } else if (kind === FRAME.end) {
      if (len > MAX_CONTROL) throw new CorralError("invalid_argument", `end frame of ${len} bytes`);
      const value = controlBody(await readExactly(s, len, "the end frame"), "the end frame");
      if (s.readableLength > 0) throw new CorralError("invalid_argument", "data after the end frame");
      yield { kind: "end", value };
      return;
    } else {
      throw new CorralError("invalid_argument", `unexpected frame 0x${kind.toString(16)} in an archive stream`);
    }
  }
}

/**
 * The pieces a stream has ready, gathered into batches of up to `max` bytes (one data frame each):
 * tar writes 64 KiB at a time, and a frame per write would cost the receiver a piece per write.
 */
export async function* batches(s: Readable, max: number): AsyncGenerator<Buffer[]> {
  for (;;) {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < max) {
      const b = s.readableEnded ? null : (s.read() as Buffer | null);
      if (b === null) break;
      parts.push(b);
      n += b.length;
    }
    if (parts.length) yield parts;
    else if (!(await more(s))) return;
  }
}

/**
 * TLS 1.3 with AES-128-GCM first: Node's default puts AES-256-GCM first, which costs 14 rounds per
 * block against 10 on every byte of an archive, for no margin that matters on a link between
 * hosts of one cluster (Go's crypto/tls prefers AES-128 for the same reason). Both ends name the
 * order and the listener's wins; TLS 1.2 is not offered (both ends are agents of this release).
 */
const DATA_CIPHERS = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
const DATA_TLS = { minVersion: "TLSv1.3", ciphers: DATA_CIPHERS } as const;
/** How much the listener's sockets read ahead of their reader (the largest piece everythingBuffered hands on). */
const DATA_HIGH_WATER = 1024 * 1024;

function serverSecureOptions(tls: TlsCredentials) {
  // The CA rides in the chain as on the gRPC port; only certificates from this CA get through.
  return { ...DATA_TLS, honorCipherOrder: true, key: tls.key, cert: `${tls.cert.trimEnd()}\n${tls.ca.trimEnd()}\n`, ca: tls.ca, requestCert: true, rejectUnauthorized: true };
}

export interface DataListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens for peer agents. `handle` gets each connection after the handshake with the verified host
 * name of the peer; a certificate naming anything but a host is answered with an error and closed.
 */
export async function listenData(host: string, tls: TlsCredentials, handle: (sock: TLSSocket, peerHost: string) => Promise<void>, onError: (err: unknown) => void): Promise<DataListener> {
  const sockets = new Set<TLSSocket>();
  const server: Server = createServer({ ...serverSecureOptions(tls), handshakeTimeout: HANDSHAKE_MS, highWaterMark: DATA_HIGH_WATER }, (sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined); // reported through the handler's reads
    sock.setKeepAlive(true, 15_000);
    sock.setNoDelay(true);
    sock.setTimeout(IDLE_MS, () => sock.destroy(new CorralError("unavailable", `no bytes moved on the data connection from ${sock.remoteAddress} for ${IDLE_MS / 1000} s`)));
    sock.pause();
    const id = identityOfCertificate(sock.getPeerCertificate());
    if (!id || id.kind !== "host") {
      writeError(sock, new CorralError("permission_denied", "the data connection is only for cluster hosts"));
      sock.end();
      return;
    }
    // The peer closes after reading the answer; one that does not is cut off.
    const finish = () => {
      sock.end();
      setTimeout(() => sock.destroy(), 5_000).unref();
    };
    handle(sock, id.name).then(finish, (err: unknown) => {
      onError(err);
      writeError(sock, err);
      finish();
    });
  });
  server.on("tlsClientError", () => undefined); // a refused handshake is the peer's problem
  server.listen(0, host);
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Dials a peer's data listener, which must prove it is host `targetHost`. */
export async function dialData(address: string, tls: TlsCredentials, targetHost: string, signal?: AbortSignal): Promise<TLSSocket> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new CorralError("invalid_argument", `invalid data address "${address}"`);
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
  const sock = connect({
    ...DATA_TLS,
    host,
    port: Number(m[2]),
    ca: tls.ca,
    key: tls.key,
    cert: tls.cert,
    servername: TLS_SERVER_NAME,
    checkServerIdentity: (_n, cert) => checkServerIdentity({ kind: "host", name: targetHost }, cert),
  });
  sock.setNoDelay(true);
  const abort = () => sock.destroy(new CorralError("cancelled", "transfer cancelled"));
  signal?.addEventListener("abort", abort, { once: true });
  const timer = setTimeout(() => sock.destroy(new CorralError("unavailable", `no TLS handshake with ${targetHost} at ${address} within ${HANDSHAKE_MS / 1000}s`)), HANDSHAKE_MS);
  try {
    await once(sock, "secureConnect");
  } catch (err) {
    throw new CorralError("unavailable", `data connection to ${targetHost} at ${address} failed: ${messageOf(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
  // A reset by the peer must not take the agent down: reads and writes report it (closedError).
  sock.on("error", () => undefined);
  sock.setKeepAlive(true, 15_000);
  sock.setTimeout(IDLE_MS, () => sock.destroy(new CorralError("unavailable", `no bytes moved on the data connection to ${targetHost} at ${address} for ${IDLE_MS / 1000} s`)));
  sock.pause();
  return sock;
}

/**
 * Below this much queued, a writer does not wait for the socket to drain: waiting at the socket's
 * own 16 KiB mark would turn the copy into a ping-pong between the pipe from tar and the socket.
 * One batch (DATA_BATCH): with 2 MiB queued, tar stood still while it all drained.
 */
const WRITE_AHEAD = 256 * 1024;

/** Writes the parts as one TLS write, waiting for the socket to drain past WRITE_AHEAD; fails if it closed. */
export async function writeAll(sock: TLSSocket, ...parts: Buffer[]): Promise<void> {
  sock.cork();
  for (const p of parts) sock.write(p);
  sock.uncork();
  if (sock.writableLength < WRITE_AHEAD && !sock.destroyed) return;
  if (sock.destroyed) throw closedError(sock, "while sending");
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sock.off("drain", ok);
      sock.off("close", closed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => done();
    const closed = () => done(closedError(sock, "while sending"));
    sock.on("drain", ok);
    sock.on("close", closed);
  });
}
