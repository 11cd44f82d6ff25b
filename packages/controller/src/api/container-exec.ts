// Exec relays the agent's output stream. No lock: exec runs alongside other work, but never
// on a container that is busy being moved or changed.
import { failedPrecondition, type ExecOutput } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { refOf, requireContainer } from "./lookup.js";

export async function* execInContainer(
  ctx: ControllerContext,
  name: string,
  argv: string[],
  env: string[],
  signal: AbortSignal,
): AsyncGenerator<ExecOutput> {
  const c = requireContainer(ctx, name);
  ctx.locks.assertFree(name);
  if (c.state !== "running") throw failedPrecondition(`container ${name} is ${c.state}; start it first`);
  const agent = ctx.agents.forHost(c.host);
  for await (const out of agent.exec({ ref: refOf(c), argv, env })) {
    if (signal.aborted) return;
    yield out;
  }
}
