// Non-interactive exec without websockets: LXD records stdout/stderr to log files and puts the
// exit code in the operation's metadata; we read both once the command has finished.
import type { ExecOutput } from "@corral/wire";
import { CorralError, invalidArgument } from "@corral/wire";
import type { LxdClient } from "./client.js";

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
  const result = await client.call<ExecResult>("POST", `/1.0/instances/${instance}/exec`, {
    body: {
      command: argv,
      environment,
      interactive: false,
      "wait-for-websocket": false,
      "record-output": true,
    },
    signal,
  });
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
