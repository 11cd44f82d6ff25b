// The direct LXD baseline: plain REST calls over LXD's unix socket with node:http, each async
// operation waited on, as any LXD client would do (no Corral code involved).
import http from "node:http";

export const LXD_SOCKET = "/var/lib/lxd/unix.socket";

interface Envelope {
  type: "sync" | "async" | "error";
  error: string;
  operation: string;
  metadata: unknown;
}

export class LxdRest {
  // Keep-alive, as the agent's own LXD client uses: the baseline should not pay a connect per call.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(readonly socketPath = LXD_SOCKET) {}

  close(): void {
    this.agent.destroy();
  }

  private request(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<Envelope> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {},
          timeout: timeoutMs,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (d: Buffer) => parts.push(d));
          res.on("end", () => {
            try {
              const env = JSON.parse(Buffer.concat(parts).toString()) as Envelope;
              if (env.type === "error") reject(new Error(`LXD ${method} ${path}: ${env.error}`));
              else resolve(env);
            } catch (err) {
              reject(new Error(`LXD ${method} ${path}: unreadable answer (HTTP ${res.statusCode}): ${String(err)}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`LXD ${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(data);
    });
  }

  /** The sync answer's metadata, or the finished operation's metadata for async calls. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const env = await this.request(method, path, body);
    if (env.type !== "async") return env.metadata as T;
    const op = await this.request("GET", `${env.operation}/wait?timeout=120`);
    const meta = op.metadata as { status_code: number; err: string; metadata: unknown };
    if (meta.status_code !== 200) throw new Error(`LXD ${method} ${path}: ${meta.err || `operation status ${meta.status_code}`}`);
    return meta.metadata as T;
  }

  /** Undefined when LXD answers with a trusted client; otherwise why not. */
  async unavailableReason(): Promise<string | undefined> {
    try {
      const env = await this.request("GET", "/1.0", undefined, 3000);
      const auth = (env.metadata as { auth?: string }).auth;
      return auth === "trusted" ? undefined : `LXD on ${this.socketPath} does not trust this client (auth ${auth})`;
    } catch (err) {
      return `LXD socket ${this.socketPath} does not answer (${(err as Error).message})`;
    }
  }
}
