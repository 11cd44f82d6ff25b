// A real nats-server with JetStream for tests: started on loopback with its own store directory,
// stopped and started again on the same port and store (to test outages).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { freePort } from "./free-port.js";

export const NATS_BIN = spawnSync("sh", ["-c", "command -v nats-server"]).stdout.toString().trim();

export class NatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts on `port` (a free one when 0) and waits until it says it is ready. */
  static async start(storeDir: string, port = 0): Promise<NatsServer> {
    const s = await NatsServer.create(storeDir, port);
    await s.restart();
    return s;
  }

  /** Picks the port and store but starts nothing yet (to test a client that comes first). */
  static async create(storeDir: string, port = 0): Promise<NatsServer> {
    return new NatsServer(port || (await freePort()), storeDir);
  }

  async restart(): Promise<void> {
    if (this.child) return;
    const child = spawn(NATS_BIN, ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!/Server is ready/.test(out)) {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${out}`);
      if (Date.now() > deadline) throw new Error(`nats-server not ready within 10 s: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.child = child;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}
