// Drain and restore, as `nomad node drain` and `incus cluster evacuate/restore` do: every container
// of a host moves off it with the migration machinery, each target chosen by the scheduler with the
// container's own constraints and anti-affinity; restore moves back what was drained and uncordons.
import { failedPrecondition, messageOf, validateName, type HostMoveProgress, type Migration } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import type { MigrationService } from "../migration/migration-service.js";
import { drainedFrom, getContainer, listContainers, placementOf, setDrainedFrom } from "../store/containers.js";
import { hostView } from "../store/hosts.js";
import { publicState, type HostView } from "../store/cluster-state.js";
import { toMigration } from "../store/migrations.js";
import { place } from "../scheduler/index.js";
import { askOf, strategyOf } from "./placement.js";
import { requireHost, setHostAdminState } from "./host-maintenance.js";

interface MoveOptions {
  parallel: number;
  deadlineMs: number;
  signal: AbortSignal;
}

/** Moves every container off `name`; the host stays draining (then drained once empty). */
export async function* drainHost(
  ctx: ControllerContext,
  migrations: MigrationService,
  name: string,
  parallel: number,
  deadlineSeconds: number,
  signal: AbortSignal,
): AsyncGenerator<HostMoveProgress> {
  validateName("host", name);
  const host = requireHost(ctx, name);
  if (host.state === "down") throw failedPrecondition(`host ${name} is down: its containers cannot be archived from it`);
  setHostAdminState(ctx, name, "draining");
  const names = listContainers(ctx.store.db, name).map((c) => c.name);
  // Moves planned but not yet landed, so that parallel moves never overcommit a target or put two
  // members of an anti-affinity group on it before the state shows either.
  const inflight = new Map<string, Inflight>();
  const pick = (container: string): string => {
    const c = getContainer(ctx.store.db, container);
    if (!c) throw failedPrecondition(`container ${container} vanished`);
    const rec = placementOf(ctx.store.db, container);
    const req = { spec: c.spec, constraints: rec?.constraints ?? [], antiAffinity: rec?.antiAffinity ?? "", strategy: rec?.strategy };
    const hosts = ctx.store.state.hosts().map((h) => withInflight(h, inflight.get(h.name)));
    const plan = place(hosts, askOf(req), { sorted: true, algorithm: strategyOf(ctx, req.strategy), seed: ctx.settings.schedulerSeed });
    const held = inflight.get(plan.host) ?? { memoryBytes: 0, cpus: 0, diskBytes: 0, groups: [] };
    held.memoryBytes += c.spec.limits.memoryBytes;
    held.cpus += c.spec.limits.cpus;
    held.diskBytes += c.spec.limits.diskBytes ?? 0;
    if (req.antiAffinity) held.groups.push(req.antiAffinity);
    inflight.set(plan.host, held);
    return plan.host;
  };
  const moved = (container: string) => setDrainedFrom(ctx.store.db, container, name);
  yield* moveAll(ctx, migrations, names, pick, moved, { parallel, deadlineMs: deadlineSeconds * 1000, signal });
  yield finalLine(ctx, name);
}

/** Moves back what was drained from `name`, after making it ready again. */
export async function* restoreHost(
  ctx: ControllerContext,
  migrations: MigrationService,
  name: string,
  parallel: number,
  signal: AbortSignal,
): AsyncGenerator<HostMoveProgress> {
  validateName("host", name);
  const host = requireHost(ctx, name);
  if (host.state === "down") throw failedPrecondition(`host ${name} is down; it can be restored once it reports again`);
  setHostAdminState(ctx, name, "ready");
  const names = drainedFrom(ctx.store.db, name);
  const back = (container: string) => setDrainedFrom(ctx.store.db, container, null);
  yield* moveAll(ctx, migrations, names, () => name, back, { parallel, deadlineMs: 0, signal });
  yield finalLine(ctx, name);
}

function finalLine(ctx: ControllerContext, name: string): HostMoveProgress {
  const view = hostView(ctx.store.db, name);
  return { container: "", targetHost: "", status: "", error: "", migration: undefined, done: true, hostState: view ? publicState(view) : "" };
}

/** What the moves planned onto a host, not yet landed, will hold there. */
interface Inflight {
  memoryBytes: number;
  cpus: number;
  diskBytes: number;
  groups: string[];
}

function withInflight(h: HostView, held: Inflight | undefined): HostView {
  if (!held) return h;
  const groups = new Map(h.groups);
  for (const g of held.groups) groups.set(g, (groups.get(g) ?? 0) + 1);
  return {
    ...h,
    reservedMemoryBytes: h.reservedMemoryBytes + held.memoryBytes,
    reservedCpus: h.reservedCpus + held.cpus,
    reservedDiskBytes: h.reservedDiskBytes + held.diskBytes,
    groups,
  };
}

/**
 * Runs up to `parallel` migrations at once and yields a line per step of each: planned (with its
 * target), moving, then moved or failed. A container that cannot be placed or moved fails alone.
 */
async function* moveAll(
  ctx: ControllerContext,
  migrations: MigrationService,
  names: string[],
  targetOf: (container: string) => string,
  onMoved: (container: string) => void,
  opts: MoveOptions,
): AsyncGenerator<HostMoveProgress> {
  const lines: HostMoveProgress[] = [];
  let wake: (() => void) | undefined;
  const emit = (p: Omit<HostMoveProgress, "done" | "hostState" | "migration"> & { migration?: Migration }) => {
    lines.push({ migration: undefined, done: false, hostState: "", ...p });
    wake?.();
  };
  const started = Date.now();
  const queue = [...names];
  const worker = async () => {
    for (let container = queue.shift(); container !== undefined; container = queue.shift()) {
      if (opts.signal.aborted) return;
      if (opts.deadlineMs > 0 && Date.now() - started > opts.deadlineMs) {
        emit({ container, targetHost: "", status: "failed", error: `deadline of ${opts.deadlineMs / 1000} s passed before it started` });
        continue;
      }
      let target = "";
      try {
        target = targetOf(container);
        emit({ container, targetHost: target, status: "planned", error: "" });
        if (getContainer(ctx.store.db, container)?.host === target) {
          onMoved(container);
          emit({ container, targetHost: target, status: "moved", error: "" });
          continue;
        }
        const m = migrations.begin(container, target, { compression: "none" });
        emit({ container, targetHost: target, status: "moving", error: "", migration: toMigration(m) });
        let last: Migration = toMigration(m);
        for await (const u of migrations.watch(m.id, opts.signal)) last = u.migration;
        if (last.phase !== "done") throw new Error(`migration ${last.id} ended in ${last.phase}`);
        ctx.store.tx(() => onMoved(container));
        emit({ container, targetHost: target, status: "moved", error: "", migration: last });
      } catch (err) {
        emit({ container, targetHost: target, status: "failed", error: messageOf(err) });
      }
    }
  };
  const workers = Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel || 1, 16)) }, worker));
  let finished = false;
  void workers
    .finally(() => {
      finished = true;
      wake?.();
    })
    .catch(() => undefined); // awaited below, where a failure surfaces
  while (!finished || lines.length > 0) {
    const next = lines.shift();
    if (next) {
      yield next;
      continue;
    }
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  await workers;
}
