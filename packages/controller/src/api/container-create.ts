// Create: validate, place, record (row + reservation in one transaction), then ask the agent.
// A failed create changes nothing: the Reverter-style undo list removes what was done.
import { alreadyExists, validateLimits, validateName, type Container, type CreateRequest } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { deleteContainer, getContainer, setContainerState } from "../store/containers.js";
import { placeAndRecord, validatePlacement } from "./placement.js";
import { SUBJECTS } from "../events/subjects.js";
import { requireContainer } from "./lookup.js";

export async function createContainer(ctx: ControllerContext, req: CreateRequest): Promise<Container> {
  const { spec } = req;
  validateName("container", spec.name);
  validateLimits(spec.limits);
  validatePlacement(ctx, req);
  const existing = getContainer(ctx.store.db, spec.name);
  if (existing) throw alreadyExists(`container "${spec.name}" already exists on ${existing.host}`);
  const release = ctx.locks.acquire(spec.name, "creating");
  const undo: (() => Promise<unknown> | unknown)[] = [];
  try {
    // Placed against the in-memory state, recorded (row, reservation, seed, strategy) by group commit.
    const plan = await placeAndRecord(ctx, req, req.start ? "running" : "stopped");
    ctx.log.info({ container: spec.name, host: plan.host, reason: plan.reason, seed: plan.seed }, "placed");
    undo.push(() => ctx.store.tx(() => deleteContainer(ctx.store.db, spec.name)));
    const agent = ctx.agents.forHost(plan.host);
    await agent.create(spec);
    undo.push(() => agent.delete({ name: spec.name, backend: spec.backend }));
    if (req.start) await agent.start({ name: spec.name, backend: spec.backend });
    ctx.store.tx(() => {
      setContainerState(ctx.store.db, spec.name, req.start ? "running" : "stopped");
      ctx.store.emit(SUBJECTS.containerCreated, { container: spec.name, host: plan.host, backend: spec.backend, spec });
      if (req.start) ctx.store.emit(SUBJECTS.containerStarted, { container: spec.name, host: plan.host });
    });
    undo.length = 0;
    return requireContainer(ctx, spec.name);
  } finally {
    await runUndo(ctx, undo.reverse());
    release();
  }
}

async function runUndo(ctx: ControllerContext, steps: (() => Promise<unknown> | unknown)[]): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      ctx.log.warn({ err: String(err) }, "undo step failed");
    }
  }
}
