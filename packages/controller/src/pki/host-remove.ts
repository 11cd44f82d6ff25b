// `corral host rm`: forget a host that is down and holds nothing, and revoke its certificate so that
// neither it nor anyone holding its key can register or report again.
import { failedPrecondition, notFound } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { deleteHost, getHost, listHosts } from "../store/hosts.js";
import { listContainers } from "../store/containers.js";
import { SUBJECTS } from "../events/subjects.js";
import { pushNetwork } from "../network/network-service.js";

export function removeHost(ctx: ControllerContext, name: string): string {
  const db = ctx.store.db;
  const serial = ctx.store.tx(() => {
    const host = getHost(db, name);
    if (!host) {
      const known = listHosts(db).map((h) => h.name).join(", ") || "none";
      throw notFound(`host "${name}" not found (known: ${known})`);
    }
    if (host.state !== "down") throw failedPrecondition(`host ${name} is ${host.state}; only a host that is down can be removed (stop its agent first)`);
    const containers = listContainers(db, name).map((c) => c.name);
    if (containers.length > 0) throw failedPrecondition(`host ${name} still holds containers: ${containers.join(", ")}; migrate or remove them first`);
    const migrations = db
      .prepare("SELECT id FROM migrations WHERE (source_host = ? OR target_host = ?) AND phase NOT IN ('done', 'rolled_back')")
      .all(name, name) as { id: string }[];
    if (migrations.length > 0) throw failedPrecondition(`host ${name} takes part in migrations still running: ${migrations.map((m) => m.id).join(", ")}`);
    // Leftovers waiting for this host will never be cleaned by it now.
    db.prepare("UPDATE migrations SET target_cleanup_pending = 0 WHERE target_host = ?").run(name);
    db.prepare("UPDATE migrations SET source_cleanup_pending = 0 WHERE source_host = ?").run(name);
    // A scan (no index by host: schema.ts); host rm is rare and the host holds nothing by now.
    db.prepare("DELETE FROM reservations WHERE host = ?").run(name);
    // Through the store, so the scheduler's in-memory state forgets the host too.
    deleteHost(db, name);
    const revoked = ctx.identity.certs.revokeHost(name);
    ctx.store.emit(SUBJECTS.hostRemoved, { host: name, revokedSerial: revoked });
    return revoked;
  });
  ctx.agents.forget(name);
  // The others drop its flood entry: nothing is sent to an address that may be reused.
  void pushNetwork(ctx);
  ctx.log.info({ host: name, revokedSerial: serial || null }, "host removed");
  return serial;
}
