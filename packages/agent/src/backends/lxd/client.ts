// A small client for LXD's REST API over its unix socket: sync responses, async operations
// waited on server-side, and raw streams for image upload and backup export/import.
import http from "node:http";
import { once } from "node:events";
import { WebSocket } from "ws";
import type { Readable } from "node:stream";
import { messageOf, CorralError, type ErrorCode, unavailable } from "@corral/wire";

export const DEFAULT_LXD_SOCKET = "/var/lib/lxd/unix.socket";
/** LXD's own project, which every LXD has; calls in it carry no `?project=`. */
export const DEFAULT_PROJECT = "default";

/** LXD's response envelope (sync, async or error). */
interface Envelope {
  type: "sync" | "async" | "error";
  status_code: number;
  error_code: number;
  error: string;
  operation: string;
  metadata: unknown;
}

export interface LxdOperation {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata: Record<string, unknown> | null;
}

/** Why an LXD call failed: the HTTP status LXD gave, kept so callers can rephrase not-found errors. */
export class LxdCallFailure {
  constructor(
    readonly httpStatus: number,
    readonly lxdMessage: string,
  ) {}
}

export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof CorralError && err.cause instanceof LxdCallFailure) return err.cause.httpStatus;
  return undefined;
}

export function lxdMessageOf(err: unknown): string {
  if (err instanceof CorralError && err.cause instanceof LxdCallFailure) return err.cause.lxdMessage;
  return messageOf(err);
}

function codeFor(httpStatus: number, message: string): ErrorCode {
  if (httpStatus === 404) return "not_found";
  if (httpStatus === 409 || /already exists/i.test(message)) return "already_exists";
  if (httpStatus === 400) return "failed_precondition";
  if (httpStatus === 403) return "permission_denied";
  return "internal";
}

export interface RequestOptions {
  body?: unknown;
  /** A raw body (image or backup upload); sent chunked with the given content type. */
  stream?: Readable;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class LxdClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    readonly socketPath: string = DEFAULT_LXD_SOCKET,
    readonly project: string = DEFAULT_PROJECT,
  ) {}

  /** `path` scoped to this client's project, as `lxc --project` does; the default project needs nothing. */
  private scoped(path: string): string {
    if (this.project === DEFAULT_PROJECT || /[?&]project=/.test(path)) return path;
    return `${path}${path.includes("?") ? "&" : "?"}project=${encodeURIComponent(this.project)}`;
  }

  /** One call whose result is the sync metadata, or the finished operation's metadata for async calls. */
  async call<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const env = await this.readEnvelope(method, path, res);
    if (env.type === "async") {
      const op = await this.waitOperation(env.operation, opts.signal);
      return (op.metadata ?? {}) as T;
    }
    return env.metadata as T;
  }

  /** An async call's operation, started but not waited on (exec with websockets). */
  async startOperation(method: string, path: string, opts: RequestOptions = {}): Promise<{ path: string; op: LxdOperation }> {
    const res = await this.send(method, path, opts);
    const env = await this.readEnvelope(method, path, res);
    if (env.type !== "async") throw new CorralError("internal", `LXD answered ${method} ${path} without an operation`);
    return { path: env.operation, op: env.metadata as LxdOperation };
  }

  /** A websocket of an operation (`/1.0/operations/ID/websocket?secret=S`) over the unix socket, once open; `onMessage` sees every message. */
  async websocket(path: string, onMessage?: (data: Buffer) => void): Promise<WebSocket> {
    const ws = new WebSocket(`ws+unix://${this.socketPath}:${this.scoped(path)}`);
    // Listening from the start: LXD may send output as soon as the last socket of an exec connects.
    if (onMessage) ws.on("message", (data: Buffer) => onMessage(data));
    try {
      await once(ws, "open");
    } catch (err) {
      ws.terminate();
      throw unavailable(`cannot open LXD websocket ${path.replace(/secret=[^&]*/, "secret=…")}: ${messageOf(err)}`, err);
    }
    return ws;
  }

  /** Waits on an operation until it leaves the running state; throws with LXD's reason on failure. */
  async waitOperation(opPath: string, signal?: AbortSignal): Promise<LxdOperation> {
    for (;;) {
      const res = await this.send("GET", `${opPath}/wait?timeout=30`, { signal });
      const env = await this.readEnvelope("GET", opPath, res);
      const op = env.metadata as LxdOperation;
      if (op.status_code === 200) return op;
      if (op.status_code >= 400) {
        const what = `LXD operation ${opPath} failed: ${op.err || op.status}`;
        throw new CorralError(codeFor(op.status_code, op.err), what, { cause: new LxdCallFailure(op.status_code, op.err) });
      }
      // Still running after the server-side wait: wait again.
    }
  }

  /** GET returning the raw response body (logs, backup exports); the caller consumes it. */
  async download(path: string, signal?: AbortSignal): Promise<{ body: http.IncomingMessage; length: number }> {
    const res = await this.send("GET", path, { signal });
    if ((res.statusCode ?? 500) >= 300) {
      await this.readEnvelope("GET", path, res); // throws with LXD's error
    }
    return { body: res, length: Number(res.headers["content-length"] ?? 0) };
  }

  async downloadText(path: string): Promise<Buffer> {
    const { body } = await this.download(path);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers["Content-Type"] ??= "application/json";
        headers["Content-Length"] = String(payload.length);
      }
      const req = http.request(
        { socketPath: this.socketPath, method, path: this.scoped(path), host: "lxd", headers, agent: this.agent, signal: opts.signal },
        resolve,
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") reject(unavailable(`LXD socket ${this.socketPath} not found`, err));
        else if (err.code === "ECONNREFUSED") reject(unavailable(`LXD is not answering on ${this.socketPath}`, err));
        else if (err.name === "AbortError") reject(new CorralError("cancelled", `LXD call ${method} ${path} cancelled`, { cause: err }));
        else reject(unavailable(`LXD call ${method} ${path} failed: ${err.message}`, err));
      });
      if (opts.stream) {
        opts.stream.on("error", (err) => req.destroy(err));
        opts.stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  private async readEnvelope(method: string, path: string, res: http.IncomingMessage): Promise<Envelope> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch (err) {
      throw new CorralError("internal", `LXD answered ${method} ${path} with HTTP ${res.statusCode} and no JSON`, {
        cause: err,
      });
    }
    if (env.type === "error" || (res.statusCode ?? 500) >= 400) {
      const status = env.error_code || res.statusCode || 500;
      throw new CorralError(codeFor(status, env.error), `LXD refused ${method} ${path}: ${env.error}`, {
        cause: new LxdCallFailure(status, env.error),
      });
    }
    return env;
  }
}
