// Start, stop and remove: lock the container, ask its agent, record the result with its event.
import { isCode, failedPrecondition, type Container } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { deleteContainer, setContainerState } from "../store/containers.js";
import { SUBJECTS } from "../events/subjects.js";
import { refOf, requireContainer } from "./lookup.js";

const DEFAULT_STOP_TIMEOUT_S = 30;

export async function startContainer(ctx: ControllerContext, name: string): Promise<Container> {
  requireContainer(ctx, name);
  return ctx.locks.with(name, "starting", async () => {
    const c = requireContainer(ctx, name);
    await ctx.agents.forHost(c.host).start(refOf(c));
    ctx.store.tx(() => {
      setContainerState(ctx.store.db, name, "running", "running");
      ctx.store.emit(SUBJECTS.containerStarted, { container: name, host: c.host });
    });
    return requireContainer(ctx, name);
  });
}

export async function stopContainer(ctx: ControllerContext, name: string, timeoutSeconds: number): Promise<Container> {
  requireContainer(ctx, name);
  return ctx.locks.with(name, "stopping", async () => {
    const c = requireContainer(ctx, name);
    await ctx.agents.forHost(c.host).stop(refOf(c), timeoutSeconds || DEFAULT_STOP_TIMEOUT_S);
    recordStopped(ctx, c);
    return requireContainer(ctx, name);
  });
}

function recordStopped(ctx: ControllerContext, c: Container): void {
  ctx.store.tx(() => {
    setContainerState(ctx.store.db, c.name, "stopped", "stopped");
    ctx.store.emit(SUBJECTS.containerStopped, { container: c.name, host: c.host });
  });
}

export async function removeContainer(ctx: ControllerContext, name: string, force: boolean): Promise<void> {
  requireContainer(ctx, name);
  await ctx.locks.withWait(name, "removing", force ? 30_000 : 0, async () => {
    const c = requireContainer(ctx, name);
    const agent = ctx.agents.forHost(c.host);
    const status = await agent.inspect(refOf(c)).catch((err: unknown) => {
      if (isCode(err, "not_found")) return undefined;
      throw err;
    });
    if (status?.state === "running") {
      if (!force) throw failedPrecondition(`container ${name} is running; stop it first or use --force`);
      await agent.stop(refOf(c), 10);
      recordStopped(ctx, c);
    }
    if (status) await agent.remove(refOf(c));
    ctx.store.tx(() => {
      deleteContainer(ctx.store.db, name);
      ctx.store.emit(SUBJECTS.containerRemoved, { container: name, host: c.host });
    });
  });
}
