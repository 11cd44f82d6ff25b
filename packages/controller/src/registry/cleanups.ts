// Leftovers that could not be removed when a migration ended because a host was unreachable:
// target staging of a rolled-back migration, or the source copy of a finished one.
import { isCode } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { getContainer } from "../store/containers.js";
import {
  migrationRef,
  pendingSourceCleanups,
  pendingTargetCleanups,
  updateMigration,
  type MigrationRecord,
} from "../store/migrations.js";

export async function retryCleanups(ctx: ControllerContext, hostName: string): Promise<void> {
  const host = getHost(ctx.store.db, hostName);
  if (!host) return;
  const agent = ctx.agents.of(host);
  for (const m of pendingTargetCleanups(ctx.store.db, hostName)) {
    await attempt(ctx, m, "target", () => agent.abortReceive(m.token, migrationRef(m)));
  }
  for (const m of pendingSourceCleanups(ctx.store.db, hostName)) {
    // Never delete a container that has since come back to this host.
    if (getContainer(ctx.store.db, m.container)?.host === hostName) {
      ctx.store.tx(() => updateMigration(ctx.store.db, m.id, { sourceCleanupPending: false }));
      continue;
    }
    await attempt(ctx, m, "source", () => agent.remove(migrationRef(m)));
  }
}

async function attempt(ctx: ControllerContext, m: MigrationRecord, side: "target" | "source", fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (err) {
    if (!isCode(err, "not_found")) {
      ctx.log.warn({ migration: m.id, side, err: String(err) }, "cleanup still failing");
      return;
    }
  }
  const patch = side === "target" ? { targetCleanupPending: false } : { sourceCleanupPending: false };
  ctx.store.tx(() => updateMigration(ctx.store.db, m.id, patch));
  ctx.log.info({ migration: m.id, side }, "migration leftovers cleaned up");
}
