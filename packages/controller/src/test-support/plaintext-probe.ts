// Speaks plaintext HTTP/2 (prior knowledge) to an address, as a gRPC call without TLS would, and
// returns the response headers, or undefined when none came: what a TLS-only port must give.
import { connect } from "node:http2";

export async function plaintextHttp2Answer(address: string, timeoutMs = 5000): Promise<Record<string, unknown> | undefined> {
  const session = connect(`http://${address}`);
  try {
    return await new Promise<Record<string, unknown> | undefined>((resolve) => {
      session.on("error", () => resolve(undefined));
      const req = session.request({ ":method": "POST", ":path": "/corral.v1.ControllerService/ListHosts", "content-type": "application/grpc" });
      req.on("response", (h) => resolve(h));
      req.on("error", () => resolve(undefined));
      req.on("close", () => resolve(undefined));
      req.end(Buffer.alloc(5));
      setTimeout(() => resolve(undefined), timeoutMs).unref();
    });
  } finally {
    session.destroy();
  }
}
