// Drift: containers a host reports that the controller does not manage on that host. Kept as of
// each host's latest report, shown by `corral ct list --drift`, and never destroyed silently.
import type { BackendName, Container, ContainerUsage } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";

interface DriftRow {
  host: string;
  name: string;
  backend: BackendName;
  state: string;
  seen_ms: number;
}

/** What each host's drift was last written as: a report that says the same writes nothing. */
const lastWritten = new WeakMap<Db, Map<string, string>>();

/**
 * Replaces what a host's previous report said drifted with what this one says. Drift is a state, not
 * usage: SQLite is written only when the set (or a state in it) changes, not on every report.
 */
export function replaceDrift(db: Db, host: string, unmanaged: readonly ContainerUsage[], now: number): void {
  const key = unmanaged.map((u) => `${u.backend}/${u.name}=${u.state}`).sort().join(",");
  let written = lastWritten.get(db);
  if (!written) lastWritten.set(db, (written = new Map()));
  if (written.get(host) === key) return;
  stmt(db, "DELETE FROM drift WHERE host = ?").run(host);
  const insert = stmt(db, "INSERT OR REPLACE INTO drift (host, name, backend, state, seen_ms) VALUES (?, ?, ?, ?, ?)");
  for (const u of unmanaged) insert.run(host, u.name, u.backend, u.state, now);
  written.set(host, key);
}

/** Drifted containers as Container rows (no spec: the controller never had one). */
export function listDrift(db: Db, host = ""): Container[] {
  const rows = (
    host
      ? db.prepare("SELECT * FROM drift WHERE host = ? ORDER BY host, name").all(host)
      : db.prepare("SELECT * FROM drift ORDER BY host, name").all()
  ) as DriftRow[];
  return rows.map((r) => ({
    name: r.name,
    host: r.host,
    backend: r.backend,
    state: r.state === "running" ? "running" : r.state === "stopped" ? "stopped" : "unknown",
    desiredState: "stopped",
    spec: { name: r.name, backend: r.backend, template: "", image: "", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {} },
    usage: undefined,
    createdUnixMs: 0,
    lastReportUnixMs: r.seen_ms,
  }));
}
