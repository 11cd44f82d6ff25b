// The controller as a child process, so a test can kill -9 it mid-migration and start it again.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { ControllerClient, type TlsCredentials } from "@corral/wire";
import { waitFor } from "./cluster.js";

const BIN = fileURLToPath(new URL("../../bin/corral-controller.js", import.meta.url));

export interface ControllerProcess {
  child: ChildProcess;
  address: string;
  client: ControllerClient;
  output: () => string;
  kill9(): Promise<void>;
}

/** `stateDir` holds the `cluster init` files; `admin` are the admin's client credentials from them. */
export async function spawnController(port: number, db: string, stateDir: string, admin: TlsCredentials): Promise<ControllerProcess> {
  const address = `127.0.0.1:${port}`;
  // The bin file runs itself, with the node flags on its first line.
  const child = spawn(BIN, ["--listen", address, "--db", db, "--state-dir", stateDir, "--log-level", "info", "--heartbeat-timeout-ms", "60000"], {
    stdio: ["ignore", "pipe", "pipe"],
    // Under `node --test` this variable is set; inherited, it makes the child talk the runner's protocol.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined },
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const client = new ControllerClient(address, admin);
  await waitFor(`controller on ${address}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`controller exited: ${out}`);
    return client.listHosts().then(
      () => true,
      () => undefined,
    );
  });
  return {
    child,
    address,
    client,
    output: () => out,
    kill9: async () => {
      client.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    },
  };
}
