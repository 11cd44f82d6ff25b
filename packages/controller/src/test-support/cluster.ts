// Test fixture, the in-process cluster: a real controller (in-process, real SQLite file, real
// gRPC) and scripted agents registered through the real RegistryService. Not to be confused with
// test/support/cluster.ts's TestCluster, which runs real agents in network namespaces.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ControllerClient, RegistryClient, type TlsCredentials } from "@corral/wire";
import { startController, type ControllerOptions, type RunningController } from "../controller.js";
import { ScriptedAgent } from "./scripted-agent.js";
import { issueAdminToken } from "../auth/first-admin.js";
import { initTestCluster, joinHost } from "./test-pki.js";

export interface InProcessCluster {
  dir: string;
  dbPath: string;
  controller: RunningController;
  /** An admin token; `client` sends it. */
  adminToken: string;
  /** The admin's client: the user certificate from `cluster init`, and the admin token. */
  client: ControllerClient;
  admin: TlsCredentials;
  agents: Record<string, ScriptedAgent>;
  /** A host that joins with a token and serves with its certificate, not yet registered. */
  startAgent(name: string): Promise<ScriptedAgent>;
  register(agent: ScriptedAgent): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(hosts: string[], opts: Partial<ControllerOptions> = {}): Promise<InProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), "corral-ctl-test-"));
  const dbPath = join(dir, "corral.db");
  const admin = await initTestCluster(dir);
  const controller = await startController({
    listen: "127.0.0.1:0",
    db: dbPath,
    stateDir: dir,
    heartbeatTimeoutMs: 60_000,
    schedulerSeed: 1,
    logger: pino({ level: process.env.CORRAL_TEST_LOG ?? "silent" }),
    ...opts,
  });
  const adminToken = issueAdminToken(dbPath);
  const client = new ControllerClient(controller.address, admin, { token: adminToken });
  const agents: Record<string, ScriptedAgent> = {};
  const startAgent = async (name: string) => ScriptedAgent.start(name, await joinHost(controller.address, admin, name));
  const register = async (a: ScriptedAgent) => {
    const reg = new RegistryClient(controller.address, a.tls);
    try {
      await reg.register(a.info());
    } finally {
      reg.close();
    }
  };
  for (const h of hosts) {
    agents[h] = await startAgent(h);
    await register(agents[h]);
  }
  return {
    dir,
    dbPath,
    controller,
    adminToken,
    client,
    admin,
    agents,
    startAgent,
    register,
    close: async () => {
      client.close();
      await controller.close();
      for (const a of Object.values(agents)) a.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Drains an async iterable; returns the items and the error that ended it, if any. */
export async function collect<T>(it: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const x of it) items.push(x);
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}
