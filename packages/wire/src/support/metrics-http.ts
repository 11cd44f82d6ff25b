// The plain-HTTP /metrics endpoint the controller and the agents serve on --metrics-listen, as
// Nomad and Consul serve theirs: its own address, apart from gRPC, so a Prometheus scraper needs
// no gRPC and no token. Takes any registry with prom-client's shape; wire itself needs no
// prom-client.
import { createServer, type Server } from "node:http";
import { invalidArgument } from "../domain/errors.js";

export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsEndpoint {
  /** http://HOST:PORT/metrics, with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9400", "[::1]:9400", ":9400" (all addresses) → host and port; port 0 picks one. */
export function parseListen(flag: string, listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:[\]]*):(\d+)$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument(`invalid ${flag} "${listen}": expected HOST:PORT such as 127.0.0.1:9400`);
  }
  return { host: m[1] || "0.0.0.0", port };
}

export async function serveMetrics(listen: string, source: MetricsSource, onError?: (err: unknown) => void): Promise<MetricsEndpoint> {
  const { host, port } = parseListen("--metrics-listen", listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: metrics are at /metrics\n");
      return;
    }
    source.metrics().then(
      (body) => res.writeHead(200, { "content-type": source.contentType }).end(req.method === "HEAD" ? undefined : body),
      (err: unknown) => {
        onError?.(err);
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics could not be collected\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
