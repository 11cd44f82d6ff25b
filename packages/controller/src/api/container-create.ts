// Create: validate, place, record (row + reservation in one transaction), then ask the agent.
// A failed create changes nothing: the Reverter undoes what was done, last first.
import { alreadyExists, messageOf, Reverter, validateBackendLimits, validateName, type Container, type CreateRequest } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { deleteContainer, getContainer, setContainerState } from "../store/containers.js";
import { placeAndRecord, validatePlacement } from "./placement.js";
import { SUBJECTS } from "../events/subjects.js";
import { requireContainer } from "./lookup.js";
import { ensureImageOn } from "./image-store.js";

export async function createContainer(ctx: ControllerContext, req: CreateRequest): Promise<Container> {
  let { spec } = req;
  validateName("container", spec.name);
  validateBackendLimits(spec.backend, spec.limits);
  validatePlacement(ctx, req);
  const existing = getContainer(ctx.store.db, spec.name);
  if (existing) throw alreadyExists(`container "${spec.name}" already exists on ${existing.host}`);
  const release = ctx.locks.acquire(spec.name, "creating");
  const revert = new Reverter((err) => ctx.log.warn({ container: spec.name, err: messageOf(err) }, "undo step failed"));
  try {
    // Placed against the in-memory state, recorded (row, reservation, seed, strategy) by group commit.
    const plan = await ctx.metrics.timePlacement(() => placeAndRecord(ctx, req, req.start ? "running" : "stopped"));
    spec = plan.spec; // with its address
    ctx.log.info({ container: spec.name, host: plan.host, reason: plan.reason, seed: plan.seed }, "placed");
    revert.add(() => ctx.store.tx(() => deleteContainer(ctx.store.db, spec.name)));
    const agent = ctx.agents.forHost(plan.host);
    await ensureImageOn(ctx, plan.host, spec);
    await agent.create(spec);
    revert.add(() => agent.remove({ name: spec.name, backend: spec.backend }));
    if (req.start) await agent.start({ name: spec.name, backend: spec.backend });
    ctx.store.tx(() => {
      setContainerState(ctx.store.db, spec.name, req.start ? "running" : "stopped");
      ctx.store.emit(SUBJECTS.containerCreated, { container: spec.name, host: plan.host, backend: spec.backend, spec });
      if (req.start) ctx.store.emit(SUBJECTS.containerStarted, { container: spec.name, host: plan.host });
    });
    revert.succeed();
    return requireContainer(ctx, spec.name);
  } finally {
    await revert.fail();
    release();
  }
}
