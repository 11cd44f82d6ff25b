// Leftovers that could not be removed when a migration ended because a host was unreachable: the
// target's copy of a rolled-back migration, or the source copy of a finished one. When the host
// registers again the same undo (or step) that failed then runs again (phase-table.ts).
import type { ControllerContext } from "../context.js";
import { getContainer } from "../store/containers.js";
import {
  pendingSourceCleanups,
  pendingTargetCleanups,
  updateMigration,
  type MigrationPatch,
  type MigrationRecord,
} from "../store/migrations.js";
import { abortTarget, removeSource } from "./steps.js";

export async function retryCleanups(ctx: ControllerContext, hostName: string): Promise<void> {
  for (const m of pendingTargetCleanups(ctx.store.db, hostName)) {
    // target_reserved's undo.
    await retry(ctx, m, "target", async () => (await abortTarget(ctx, m)).patch);
  }
  for (const m of pendingSourceCleanups(ctx.store.db, hostName)) {
    // Never delete a container that has since come back to this host.
    if (getContainer(ctx.store.db, m.container)?.host === hostName) {
      ctx.store.tx(() => updateMigration(ctx.store.db, m.id, { sourceCleanupPending: false }));
      continue;
    }
    // source_removed's step.
    await retry(ctx, m, "source", () => removeSource({ ctx }, m));
  }
}

async function retry(ctx: ControllerContext, m: MigrationRecord, side: "target" | "source", run: () => Promise<MigrationPatch>) {
  const patch = await run();
  if (side === "target" ? patch.targetCleanupPending : patch.sourceCleanupPending) {
    ctx.log.warn({ migration: m.id, side }, "cleanup still failing");
    return;
  }
  const done = side === "target" ? { targetCleanupPending: false } : { sourceCleanupPending: false };
  ctx.store.tx(() => updateMigration(ctx.store.db, m.id, done));
  ctx.log.info({ migration: m.id, side }, "migration leftovers cleaned up");
}
