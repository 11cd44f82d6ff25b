// Live limits: merge what was given with the stored spec, check the result fits the host (without
// this container's own reservation), apply on the agent, then persist spec and reservation
// together. The merge happens under the container's lock, so two partial updates cannot lose
// each other's change (the CLI used to read, merge and write over two calls).
import { CorralError, failedPrecondition, invalidArgument, validateBackendLimits, validateLimits, type Container, type Limits, type LimitsPatch } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { setContainerSpec } from "../store/containers.js";
import { getHost } from "../store/hosts.js";
import { updatePlacement } from "../store/reservations.js";
import { SUBJECTS } from "../events/subjects.js";
import { checkHost } from "../scheduler/index.js";
import { refOf, requireContainer } from "./lookup.js";

export async function setLimits(ctx: ControllerContext, name: string, patch: LimitsPatch): Promise<Container> {
  if (patch.memoryBytes === undefined && patch.cpus === undefined) throw invalidArgument("nothing to set: give a memory and/or cpus limit");
  validateLimits({ memoryBytes: patch.memoryBytes ?? 0, cpus: patch.cpus ?? 0 });
  requireContainer(ctx, name);
  return ctx.locks.with(name, "setting limits", async () => {
    const c = requireContainer(ctx, name);
    // The host reports what its backend can do (derived from the backend's interfaces on the agent).
    const info = getHost(ctx.store.db, c.host)?.backends.find((b) => b.name === c.backend);
    if (info && !info.capabilities.includes("live-limits")) {
      throw failedPrecondition(`backend ${c.backend} on ${c.host} cannot change limits live`);
    }
    const limits: Limits = { memoryBytes: patch.memoryBytes ?? c.spec.limits.memoryBytes, cpus: patch.cpus ?? c.spec.limits.cpus };
    validateBackendLimits(c.backend, limits);
    assertFits(ctx, c, limits);
    await ctx.agents.forHost(c.host).setLimits(refOf(c), limits);
    ctx.store.tx(() => {
      setContainerSpec(ctx.store.db, name, { ...c.spec, limits });
      updatePlacement(ctx.store.db, name, limits);
      ctx.store.emit(SUBJECTS.containerLimits, { container: name, host: c.host, limits });
    });
    return requireContainer(ctx, name);
  });
}

function assertFits(ctx: ControllerContext, c: Container, limits: Limits): void {
  const host = getHost(ctx.store.db, c.host);
  if (!host) return;
  const own = c.spec.limits;
  const snapshot = {
    ...host,
    state: host.state === "down" ? host.state : "ready" as const,
    reservedMemoryBytes: host.reservedMemoryBytes - own.memoryBytes,
    reservedCpus: host.reservedCpus - own.cpus,
    reservedDiskBytes: host.reservedDiskBytes - (own.diskBytes ?? 0),
  };
  const rejection = checkHost(snapshot, { name: c.name, backend: c.backend, ...limits });
  if (rejection) throw new CorralError(rejection.code, `cannot set limits of ${c.name} on ${c.host}: ${rejection.reason}`);
}
