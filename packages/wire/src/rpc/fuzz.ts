// Test support: feeds random and mutated bytes to every method of a gRPC service, as raw request
// frames (no serializer in the way), seeded and bounded, so a server's handling of hostile input
// can be replayed. Used by the agent's and the controller's fuzz tests.
import { Client, Metadata, type ChannelCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { mulberry32 } from "../support/prng.js";
import { CHANNEL_OPTIONS } from "./channel.js";

export interface FuzzOptions {
  seed: number;
  /** Calls per method. */
  iterations: number;
  /** Per-call deadline; a call still open after it (plus slack) counts as a hang. */
  deadlineMs?: number;
  /** Valid request messages per method (as the service definition's request objects), to mutate. */
  seeds?: Record<string, unknown[]>;
  /** The caller's TLS credentials: the fuzz speaks as a legitimate peer, so it reaches past the handshake. */
  credentials: ChannelCredentials;
  /** Sent with every call, e.g. an authorization header, so the fuzz reaches past the auth gate. */
  metadata?: Record<string, string>;
}

export interface FuzzReport {
  calls: number;
  /** gRPC status codes seen, by code (0 = OK). */
  codes: Record<number, number>;
  /** Methods whose call did not settle within the deadline plus slack. */
  hangs: string[];
}

const identity = (b: Buffer): Buffer => b;

function randomBytes(rand: () => number, max: number): Buffer {
  const n = Math.floor(rand() * max);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** One mutation of a valid frame: bit flips, cut, splice of random bytes, a huge varint, or duplication. */
function mutate(rand: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (Math.floor(rand() * 5)) {
    case 0:
      for (let i = 0; i < 1 + rand() * 4 && b.length; i++) b[Math.floor(rand() * b.length)]! ^= 1 << Math.floor(rand() * 8);
      return b;
    case 1:
      return b.subarray(0, Math.floor(rand() * b.length));
    case 2: {
      const at = Math.floor(rand() * (b.length + 1));
      return Buffer.concat([b.subarray(0, at), randomBytes(rand, 64), b.subarray(at)]);
    }
    case 3:
      // A length-delimited field claiming a huge length.
      return Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
    default:
      return Buffer.concat([b, b]);
  }
}

export async function fuzzService(address: string, def: ServiceDefinition, opts: FuzzOptions): Promise<FuzzReport> {
  const rand = mulberry32(opts.seed);
  const deadlineMs = opts.deadlineMs ?? 2000;
  const client = new Client(address, opts.credentials, CHANNEL_OPTIONS);
  const report: FuzzReport = { calls: 0, codes: {}, hangs: [] };
  const md = new Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  try {
    for (const [method, m] of Object.entries(def)) {
      const valid = (opts.seeds?.[method] ?? []).map((msg) => m.requestSerialize(msg));
      const frame = (): Buffer => (valid.length && rand() < 0.6 ? mutate(rand, valid[Math.floor(rand() * valid.length)]!) : randomBytes(rand, 256));
      for (let i = 0; i < opts.iterations; i++) {
        report.calls++;
        const code = await settleWithin(deadlineMs + 3000, oneCall(client, m.path, m.requestStream, m.responseStream, frame, rand, deadlineMs, md));
        if (code === "hang") report.hangs.push(method);
        else report.codes[code] = (report.codes[code] ?? 0) + 1;
      }
    }
  } finally {
    client.close();
  }
  return report;
}

function settleWithin(ms: number, p: Promise<number>): Promise<number | "hang"> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<"hang">((r) => (timer = setTimeout(() => r("hang"), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function oneCall(
  client: Client,
  path: string,
  reqStream: boolean,
  resStream: boolean,
  frame: () => Buffer,
  rand: () => number,
  deadlineMs: number,
  md: Metadata,
): Promise<number> {
  const options = { deadline: Date.now() + deadlineMs };
  return new Promise<number>((resolve) => {
    const done = (err: { code?: number } | null) => resolve(err ? (err.code ?? -1) : 0);
    if (!reqStream && !resStream) {
      client.makeUnaryRequest(path, identity, identity, frame(), md.clone(), options, (err) => done(err));
    } else if (reqStream && !resStream) {
      const call = client.makeClientStreamRequest(path, identity, identity, md.clone(), options, (err) => done(err));
      call.on("error", () => undefined);
      for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) call.write(frame());
      call.end();
    } else {
      const call = reqStream
        ? client.makeBidiStreamRequest(path, identity, identity, md.clone(), options)
        : client.makeServerStreamRequest(path, identity, identity, frame(), md.clone(), options);
      if (reqStream) {
        const w = call as unknown as { write(b: Buffer): void; end(): void };
        for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) w.write(frame());
        w.end();
      }
      call.on("data", () => undefined);
      call.on("error", (err: { code?: number }) => done(err));
      call.on("end", () => done(null));
    }
  });
}
