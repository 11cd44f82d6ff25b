// `ct top` and `host pid`: relayed to the agent of the host, which reads cgroup membership. No lock:
// reading processes changes nothing.
import { failedPrecondition, invalidArgument, notFound, type PidOwner, type ProcessInfo } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer } from "../store/containers.js";
import { refOf, requireContainer } from "./lookup.js";

export async function listProcesses(ctx: ControllerContext, name: string): Promise<ProcessInfo[]> {
  const c = requireContainer(ctx, name);
  if (c.state !== "running") throw failedPrecondition(`container ${name} is ${c.state}; start it first`);
  return ctx.agents.forHost(c.host).listProcesses(refOf(c));
}

export async function findPidOwner(ctx: ControllerContext, host: string, pid: number): Promise<PidOwner> {
  if (!Number.isInteger(pid) || pid < 1) throw invalidArgument(`PID must be a positive integer, not ${pid}`);
  const owner = await ctx.agents.forHost(host).findPidOwner(pid);
  if (!owner) throw notFound(`no container on ${host} owns PID ${pid}`);
  // The agent may name a runtime object Corral does not manage there (one made by hand): say so.
  const managed = getContainer(ctx.store.db, owner.container);
  if (!managed || managed.host !== host) throw notFound(`PID ${pid} on ${host} belongs to ${owner.backend} container "${owner.container}", which Corral does not manage`);
  return { container: owner.container, host, backend: owner.backend, pid: owner.pid };
}
