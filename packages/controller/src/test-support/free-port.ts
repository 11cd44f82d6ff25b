// A port nothing listens on now, for a test process that must be restarted on the same address
// (a fixed port collides when two test files run at once).
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.once("error", reject);
  });
}
