// Hosts: registration, liveness, operator states and labels. Reads come from the in-memory cluster
// state (cluster-state.ts); writes go to SQLite and memory together.
import type { HostInfo } from "@corral/wire";
import type { Host } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { hostOf, stateOf, type AdminState, type HostView, type StoredState } from "./cluster-state.js";

export function listHosts(db: Db): Host[] {
  return stateOf(db).hosts().map(hostOf);
}

export function getHost(db: Db, name: string): Host | undefined {
  const h = stateOf(db).host(name);
  return h ? hostOf(h) : undefined;
}

/** The live view of a host (labels, overcommit, groups), for the scheduler and maintenance. */
export function hostView(db: Db, name: string): HostView | undefined {
  return stateOf(db).host(name);
}

/** Inserts or refreshes a host; it comes back in its operator-chosen state (ready unless cordoned/draining). */
export function upsertHost(db: Db, info: HostInfo, now: number): { previous: StoredState | undefined } {
  const state = stateOf(db);
  const prev = state.host(info.name);
  const previous = prev?.state;
  stmt(
    db,
    `INSERT INTO hosts (name, address, state, cpus, memory_bytes, disk_bytes, disk_free_bytes, backends, agent_version,
                        last_seen_ms, registered_ms)
     VALUES (@name, @address, 'ready', @cpus, @memoryBytes, @diskBytes, @diskFreeBytes, @backends, @agentVersion, @now, @now)
     ON CONFLICT (name) DO UPDATE SET
       address = excluded.address, state = hosts.admin_state, cpus = excluded.cpus,
       memory_bytes = excluded.memory_bytes, disk_bytes = excluded.disk_bytes,
       disk_free_bytes = excluded.disk_free_bytes, backends = excluded.backends,
       agent_version = excluded.agent_version, last_seen_ms = excluded.last_seen_ms,
       registered_ms = excluded.registered_ms`,
  ).run({ ...info, backends: JSON.stringify(info.backends), now });
  const adminState = prev?.adminState ?? "ready";
  state.addHost({
    name: info.name,
    address: info.address,
    state: adminState,
    adminState,
    backends: info.backends,
    cpus: info.cpus,
    memoryBytes: info.memoryBytes,
    diskBytes: info.diskBytes,
    diskFreeBytes: info.diskFreeBytes,
    lastSeenUnixMs: now,
    labels: prev?.labels ?? {},
    overcommit: prev?.overcommit ?? 1,
  });
  return { previous };
}

/**
 * Records a heartbeat in memory; SQLite is written only when the host was down and is now back in
 * its admin state (a state transition). Returns true in that case.
 */
export function touchHost(db: Db, name: string, diskFreeBytes: number, now: number): boolean {
  const state = stateOf(db);
  const h = state.host(name);
  if (!h) return false;
  state.heard(name, now, diskFreeBytes);
  if (h.state !== "down") return false;
  stmt(db, "UPDATE hosts SET state = admin_state, last_seen_ms = ?, disk_free_bytes = ? WHERE name = ?").run(
    now,
    diskFreeBytes,
    name,
  );
  state.patchHost(name, { state: h.adminState });
  return true;
}

/** Marks as down every host not heard from since `cutoff`; returns their names. */
export function markStaleHostsDown(db: Db, cutoff: number): string[] {
  const state = stateOf(db);
  const stale = state.hosts().filter((h) => h.state !== "down" && h.lastSeenUnixMs < cutoff);
  for (const h of stale) {
    stmt(db, "UPDATE hosts SET state = 'down', last_seen_ms = ?, disk_free_bytes = ? WHERE name = ?").run(
      h.lastSeenUnixMs,
      h.diskFreeBytes,
      h.name,
    );
    state.patchHost(h.name, { state: "down" });
  }
  return stale.map((h) => h.name);
}

/** Sets what the operator chose (ready, cordoned, draining); a down host stays down until it reports. */
export function setAdminState(db: Db, name: string, admin: AdminState): void {
  const state = stateOf(db);
  const h = state.host(name);
  if (!h) return;
  const live = h.state === "down" ? "down" : admin;
  stmt(db, "UPDATE hosts SET admin_state = ?, state = ? WHERE name = ?").run(admin, live, name);
  state.patchHost(name, { adminState: admin, state: live });
}

export function setHostLabels(db: Db, name: string, labels: Record<string, string>): void {
  stmt(db, "UPDATE hosts SET labels = ? WHERE name = ?").run(JSON.stringify(labels), name);
  stateOf(db).patchHost(name, { labels });
}

export function setOvercommit(db: Db, name: string, ratio: number): void {
  stmt(db, "UPDATE hosts SET overcommit = ? WHERE name = ?").run(ratio, name);
  stateOf(db).patchHost(name, { overcommit: ratio });
}

/** Deletes a host row and forgets it in memory (for `host rm`, which checks it is down and empty). */
export function deleteHost(db: Db, name: string): void {
  stmt(db, "DELETE FROM hosts WHERE name = ?").run(name);
  stateOf(db).removeHost(name);
}
