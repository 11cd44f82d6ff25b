// Test fixture, the in-process cluster: a real controller (in-process, real SQLite file, real
// gRPC) and scripted agents registered through the real RegistryService. Not to be confused with
// test/support/cluster.ts's TestCluster, which runs real agents in network namespaces.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ControllerClient, RegistryClient } from "@corral/wire";
import { startController, type ControllerOptions, type RunningController } from "../controller.js";
import { ScriptedAgent } from "./scripted-agent.js";
import { issueAdminToken } from "../auth/first-admin.js";

export interface InProcessCluster {
  dir: string;
  dbPath: string;
  controller: RunningController;
  /** An admin token; `client` sends it. */
  adminToken: string;
  client: ControllerClient;
  agents: Record<string, ScriptedAgent>;
  register(agent: ScriptedAgent): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(hosts: string[], opts: Partial<ControllerOptions> = {}): Promise<InProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), "corral-ctl-test-"));
  const dbPath = join(dir, "corral.db");
  const controller = await startController({
    listen: "127.0.0.1:0",
    db: dbPath,
    heartbeatTimeoutMs: 60_000,
    schedulerSeed: 1,
    logger: pino({ level: process.env.CORRAL_TEST_LOG ?? "silent" }),
    ...opts,
  });
  const adminToken = issueAdminToken(dbPath);
  const client = new ControllerClient(controller.address, { token: adminToken });
  const agents: Record<string, ScriptedAgent> = {};
  const register = async (a: ScriptedAgent) => {
    const reg = new RegistryClient(controller.address);
    try {
      await reg.register(a.info());
    } finally {
      reg.close();
    }
  };
  for (const h of hosts) {
    agents[h] = await ScriptedAgent.start(h);
    await register(agents[h]);
  }
  return {
    dir,
    dbPath,
    controller,
    adminToken,
    client,
    agents,
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
