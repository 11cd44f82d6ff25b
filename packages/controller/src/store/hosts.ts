// Hosts: registration, liveness and the capacity view the scheduler reads.
import type { BackendInfo, Host, HostInfo, HostState } from "@corral/wire";
import type { Db } from "./store.js";

interface HostRow {
  name: string;
  address: string;
  state: HostState;
  admin_state: HostState;
  cpus: number;
  memory_bytes: number;
  disk_bytes: number;
  disk_free_bytes: number;
  backends: string;
  agent_version: string;
  last_seen_ms: number;
  registered_ms: number;
  reserved_memory: number;
  reserved_cpus: number;
  containers: number;
}

const SELECT = `
  SELECT h.*,
    COALESCE((SELECT SUM(memory_bytes) FROM reservations r WHERE r.host = h.name), 0) AS reserved_memory,
    COALESCE((SELECT SUM(cpus) FROM reservations r WHERE r.host = h.name), 0) AS reserved_cpus,
    (SELECT COUNT(*) FROM containers c WHERE c.host = h.name) AS containers
  FROM hosts h`;

function toHost(r: HostRow): Host {
  return {
    name: r.name,
    address: r.address,
    state: r.state,
    backends: JSON.parse(r.backends) as BackendInfo[],
    cpus: r.cpus,
    memoryBytes: r.memory_bytes,
    diskBytes: r.disk_bytes,
    diskFreeBytes: r.disk_free_bytes,
    reservedMemoryBytes: r.reserved_memory,
    reservedCpus: r.reserved_cpus,
    containers: r.containers,
    lastSeenUnixMs: r.last_seen_ms,
  };
}

export function listHosts(db: Db): Host[] {
  return (db.prepare(`${SELECT} ORDER BY h.name`).all() as HostRow[]).map(toHost);
}

export function getHost(db: Db, name: string): Host | undefined {
  const row = db.prepare(`${SELECT} WHERE h.name = ?`).get(name) as HostRow | undefined;
  return row ? toHost(row) : undefined;
}

/** Inserts or refreshes a host; it comes back in its operator-chosen state (ready unless cordoned/draining). */
export function upsertHost(db: Db, info: HostInfo, now: number): { previous: HostState | undefined } {
  const prev = db.prepare("SELECT state FROM hosts WHERE name = ?").get(info.name) as { state: HostState } | undefined;
  db.prepare(
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
  return { previous: prev?.state };
}

/** Records a heartbeat; returns true when the host was down and is now back in its admin state. */
export function touchHost(db: Db, name: string, diskFreeBytes: number, now: number): boolean {
  const revived = db
    .prepare("UPDATE hosts SET state = admin_state WHERE name = ? AND state = 'down'")
    .run(name).changes;
  db.prepare("UPDATE hosts SET last_seen_ms = ?, disk_free_bytes = ? WHERE name = ?").run(now, diskFreeBytes, name);
  return revived > 0;
}

/** Marks as down every host not heard from since `cutoff`; returns their names. */
export function markStaleHostsDown(db: Db, cutoff: number): string[] {
  const rows = db
    .prepare("UPDATE hosts SET state = 'down' WHERE state != 'down' AND last_seen_ms < ? RETURNING name")
    .all(cutoff) as { name: string }[];
  return rows.map((r) => r.name);
}
