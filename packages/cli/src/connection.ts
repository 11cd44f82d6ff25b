// One controller connection per CLI run. grpc-js queues a call while it is still connecting and
// only fails after its own ~20 s connect timeout, so the CLI first checks within 5 s that the
// address accepts TCP at all, and puts a deadline on every unary call.
import { connect } from "node:net";
import { ControllerClient, CorralError, unavailable, withDeadline, type ClientTls } from "@corral/wire";

import { Feedback } from "./feedback.js";

export const CONNECT_TIMEOUT_MS = 5_000;
/** Reads answer from the controller's store; they get a short deadline. */
export const READ_DEADLINE_MS = 10_000;
/** Changes may wait on an agent (lxc-create, a template, a stop): allow minutes, not forever. */
export const WRITE_DEADLINE_MS = 180_000;

export interface ConnectionOptions {
  connectTimeoutMs?: number;
  token?: string | undefined;
  /** Where a call that takes over a second says what it waits for (a terminal's stderr). */
  feedback?: Feedback;
}

export class Connection {
  private client: ControllerClient | undefined;
  private probed: Promise<void> | undefined;

  private readonly connectTimeoutMs: number;
  private readonly feedback: Feedback;
  /** The person's bearer token, sent as call metadata; undefined sends none. */
  readonly token: string | undefined;

  /** `tls` is read on first use, after the address is known to answer (see resolveClientTls). */
  constructor(
    readonly address: string,
    private readonly tls: () => ClientTls,
    opts: ConnectionOptions = {},
  ) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.token = opts.token;
    this.feedback = opts.feedback ?? new Feedback(undefined);
  }

  get peer(): string {
    return `controller at ${this.address}`;
  }

  /** The client, once the address is known to accept connections. */
  async controller(): Promise<ControllerClient> {
    this.probed ??= probeTcp(this.address, this.connectTimeoutMs, this.peer);
    await this.probed;
    this.client ??= new ControllerClient(this.address, this.tls(), { token: this.token });
    return this.client;
  }

  /**
   * A unary call with a deadline; the controller's own error passes through unchanged. `what`
   * names the wait on a terminal when it lasts over a second ("stopping web").
   */
  async call<T>(fn: (c: ControllerClient) => Promise<T>, deadlineMs = READ_DEADLINE_MS, what?: string): Promise<T> {
    return this.feedback.waitFor(what ? `${what} (${this.peer})` : `waiting for ${this.peer}`, this.callNow(fn, deadlineMs));
  }

  /** Runs `work` (a stream, say) with the same terminal feedback as `call`. */
  waitFor<T>(what: string, work: Promise<T>): Promise<T> {
    return this.feedback.waitFor(`${what} (${this.peer})`, work);
  }

  private async callNow<T>(fn: (c: ControllerClient) => Promise<T>, deadlineMs: number): Promise<T> {
    const c = await this.controller();
    return withDeadline(fn(c), deadlineMs, () => new CorralError("deadline_exceeded", `${this.peer} did not answer within ${Math.round(deadlineMs / 1000)} s`));
  }

  /** grpc-js reports an HTTP server (or a proxy) at the address in its own words; say what it means. */
  explain(message: string): string {
    return /^Received HTTP status code|Protocol error|Bad Request/i.test(message)
      ? `${this.peer} is not a Corral controller (${message})`
      : message;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

/** "127.0.0.1:7400", "[::1]:7400", "dns:///ctl:7400" → host and port; undefined for forms we do not probe (unix:). */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const a = address.replace(/^(dns:(\/\/\/)?|ipv4:|ipv6:)/, "");
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(a) ?? /^([^:/]+):(\d+)$/.exec(a);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1] as string, port } : undefined;
}

export function probeTcp(address: string, timeoutMs: number, peer: string): Promise<void> {
  const hp = splitHostPort(address);
  if (!hp) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const sock = connect({ host: hp.host, port: hp.port });
    const fail = (why: string) => {
      sock.destroy();
      reject(unavailable(`${peer} is unreachable (${why})`));
    };
    sock.setTimeout(timeoutMs, () => fail(`no connection within ${Math.round(timeoutMs / 1000)} s`));
    sock.once("error", (err: Error) => fail(err.message));
    sock.once("connect", () => {
      sock.destroy();
      resolve();
    });
  });
}
