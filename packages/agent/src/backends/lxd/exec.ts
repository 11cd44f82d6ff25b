// Non-interactive exec without websockets: LXD records stdout/stderr to log files and puts the
// exit code in the operation's metadata; we read both once the command has finished.
import { randomUUID } from "node:crypto";
import type { ExecOutput } from "@corral/wire";
import { CorralError, invalidArgument } from "@corral/wire";
import { killTree, pidsWithEnv } from "../../process/tree.js";
import type { LxdClient } from "./client.js";

/** Set in every exec's environment, so an aborted exec's processes can be found and killed. */
export const EXEC_TAG = "CORRAL_EXEC_ID";

interface ExecResult {
  return?: number;
  output?: Record<string, string>;
}

export async function* execRecorded(
  client: LxdClient,
  instance: string,
  argv: string[],
  env: string[],
  signal: AbortSignal,
): AsyncIterable<ExecOutput> {
  if (argv.length === 0) throw invalidArgument("exec needs a command");
  const environment: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw invalidArgument(`invalid environment entry "${kv}": expected KEY=VALUE`);
    environment[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const tag = `${EXEC_TAG}=${randomUUID()}`;
  environment[EXEC_TAG] = tag.slice(EXEC_TAG.length + 1);
  let result: ExecResult;
  try {
    result = await client.call<ExecResult>("POST", `/1.0/instances/${instance}/exec`, {
      body: {
        command: argv,
        environment,
        interactive: false,
        "wait-for-websocket": false,
        "record-output": true,
      },
      signal,
    });
  } catch (err) {
    if (!signal.aborted) throw err;
    // LXD cannot cancel a recorded exec: kill its processes (and what they started) ourselves.
    await killTagged(tag);
    throw new CorralError("cancelled", `exec in ${instance} was cancelled`, { cause: err });
  }
  const logs = result.output ?? {};
  try {
    for (const [fd, kind] of [
      ["1", "stdout"],
      ["2", "stderr"],
    ] as const) {
      const path = logs[fd];
      if (!path) continue;
      const data = await client.downloadText(path);
      if (data.length > 0) yield { kind, data };
    }
  } finally {
    // The recorded logs stay in LXD's log directory until deleted.
    await Promise.all(Object.values(logs).map((p) => client.call("DELETE", p).catch(() => undefined)));
  }
  if (typeof result.return !== "number") {
    throw new CorralError("internal", `LXD exec in ${instance} finished without an exit code`);
  }
  yield { kind: "exit", code: result.return };
}

/** Kills every process carrying `tag`, looking a few times in case LXD was still starting it. */
async function killTagged(tag: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const pids = await pidsWithEnv(tag);
    if (pids.length) {
      await Promise.all(pids.map((p) => killTree(p).catch(() => undefined)));
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
