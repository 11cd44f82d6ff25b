// Exec over LXD's websockets (what `lxc exec` does): the command waits until we have opened every
// websocket of its operation: stdin, stdout and stderr each on their own (or one for a terminal),
// and a control socket that carries window resizes. The exit code is in the operation's metadata.
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { ExecOutput, TerminalSize } from "@corral/wire";
import { CorralError, invalidArgument, messageOf } from "@corral/wire";
import { killTree, pidsWithEnv } from "../../process/tree.js";
import { OutputQueue } from "../../process/run.js";
import { clampSize, pumpInput, type ExecIo } from "../../process/exec-io.js";
import type { LxdClient } from "./client.js";

/** Set in every exec's environment, so an aborted exec's processes can be found and killed. */
export const EXEC_TAG = "CORRAL_EXEC_ID";

interface ExecFds {
  fds?: Record<string, string>;
}

export async function* execWebsocket(
  client: LxdClient,
  instance: string,
  argv: string[],
  env: string[],
  signal: AbortSignal,
  io?: ExecIo,
): AsyncGenerator<ExecOutput> {
  if (argv.length === 0) throw invalidArgument("exec needs a command");
  const environment: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw invalidArgument(`invalid environment entry "${kv}": expected KEY=VALUE`);
    environment[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const tag = `${EXEC_TAG}=${randomUUID()}`;
  environment[EXEC_TAG] = tag.slice(EXEC_TAG.length + 1);
  const size = io?.tty ? clampSize(io.tty) : undefined;
  if (size) environment.TERM ??= "xterm";
  const { path: opPath, op } = await client.startOperation("POST", `/1.0/instances/${instance}/exec`, {
    body: {
      command: argv,
      environment,
      interactive: size !== undefined,
      "wait-for-websocket": true,
      "record-output": false,
      ...(size ? { width: size.cols, height: size.rows } : {}),
    },
    signal,
  });
  const fds = (op.metadata as ExecFds | null)?.fds ?? {};
  // The queue exists before the sockets do, so no early output is lost; pausing acts on the output sockets.
  const outputs: WebSocket[] = [];
  const out = new OutputQueue(
    () => outputs.forEach((ws) => ws.pause()),
    () => outputs.forEach((ws) => ws.resume()),
  );
  // On a terminal, fd 0 carries both ways (LXD sends its output as text frames); otherwise stdout
  // and stderr have their own sockets.
  const kindOf: Record<string, "stdout" | "stderr" | undefined> = size ? { "0": "stdout" } : { "1": "stdout", "2": "stderr" };
  // On a terminal, LXD marks the end of the command's output with an empty text message (its write
  // barrier), then waits for the client to close fd 0 before it ends the operation (lxd 5.0
  // shared.DefaultWriter, as `lxc exec` does): without that close the exit code never comes.
  let ended = false;
  let terminal: WebSocket | undefined;
  const endTerminal = (): void => {
    ended = true;
    if (terminal && terminal.readyState === terminal.OPEN) terminal.close(1000);
  };
  const socket = (fd: string): Promise<WebSocket> => {
    const secret = fds[fd];
    if (!secret) throw new CorralError("internal", `LXD exec in ${instance} offered no websocket for fd ${fd}`);
    const kind = kindOf[fd];
    const onMessage = kind
      ? (data: Buffer) => {
          if (data.length > 0) out.push({ kind, data });
          else if (size) endTerminal();
        }
      : undefined;
    return client.websocket(`${opPath}/websocket?secret=${encodeURIComponent(secret)}`, onMessage);
  };
  const names = size ? ["control", "0"] : ["control", "0", "1", "2"];
  const opened = await Promise.allSettled(names.map(socket));
  const sockets = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = opened.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    for (const ws of sockets) ws.terminate();
    await killTagged(tag);
    throw failed.reason;
  }
  const [control, stdin, ...rest] = sockets as [WebSocket, WebSocket, ...WebSocket[]];
  outputs.push(...(size ? [stdin] : rest));
  if (size) {
    terminal = stdin;
    if (ended) endTerminal();
  }
  for (const ws of sockets) ws.on("error", () => undefined); // each socket's end is seen by 'close'
  const closed = Promise.all(outputs.map((ws) => (ws.readyState === ws.CLOSED ? Promise.resolve() : once(ws, "close"))));
  void (async () => {
    try {
      const done = await client.waitOperation(opPath);
      // Output still in flight when the command ended arrives before the sockets close.
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      const code = (done.metadata as { return?: unknown } | null)?.return;
      if (typeof code !== "number") throw new CorralError("internal", `LXD exec in ${instance} finished without an exit code`);
      out.finish(code);
    } catch (err) {
      out.fail(err instanceof CorralError ? err : new CorralError("internal", `LXD exec in ${instance}: ${messageOf(err)}`, { cause: err }));
    }
  })();
  const stop = new AbortController();
  const send = (ws: WebSocket, data: Buffer | string): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      ws.send(data, { binary: typeof data !== "string" }, () => resolve());
    });
  void pumpInput(
    io?.input,
    {
      write: (data) => send(stdin, data),
      // LXD ends the command's stdin when its socket closes; on a terminal, EOF is Ctrl-D.
      end: () => {
        if (size) void send(stdin, Buffer.from("\x04"));
        else if (stdin.readyState === stdin.OPEN) stdin.close(1000);
      },
      resize: (s: TerminalSize) => {
        if (!size) return;
        const c = clampSize(s);
        void send(control, JSON.stringify({ command: "window-resize", args: { width: String(c.cols), height: String(c.rows) } }));
      },
    },
    stop.signal,
  );
  try {
    yield* out.drain(signal, () => {
      // LXD cannot be told to kill a websocket exec's command: find its processes by tag ourselves.
      void killTagged(tag);
    });
  } finally {
    stop.abort();
    for (const ws of sockets) ws.terminate();
  }
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
