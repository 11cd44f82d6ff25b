// Exec relays both ways between the CLI and the container's agent: the caller's input (stdin, EOF,
// resizes) to the agent and the agent's output back. Neither side is buffered here: input is pulled
// from the caller only as the agent's call takes it, and output only as the caller's call drains
// (HTTP/2 flow control then holds the other end back). No lock: exec runs alongside other work, but
// never on a container that is busy being moved or changed.
import { failedPrecondition, invalidArgument, type ExecInput, type ExecOutput, type ExecStart } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { refOf, requireContainer } from "./lookup.js";

export async function* execInContainer(
  ctx: ControllerContext,
  req: ExecStart,
  input: AsyncIterable<ExecInput>,
  signal: AbortSignal,
): AsyncGenerator<ExecOutput> {
  const { name, argv, env, options } = req;
  if (options.login ? argv.length > 0 : argv.length === 0) {
    throw invalidArgument(options.login ? "a login shell takes no command" : "exec needs a command");
  }
  const c = requireContainer(ctx, name);
  ctx.locks.assertFree(name);
  if (c.state !== "running") throw failedPrecondition(`container ${name} is ${c.state}; start it first`);
  const agent = ctx.agents.forHost(c.host);
  for await (const out of agent.exec({ ref: refOf(c), argv, env, options }, input, signal)) {
    if (signal.aborted) return;
    yield out;
  }
}
