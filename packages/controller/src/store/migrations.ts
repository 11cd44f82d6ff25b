// Migration rows: the journal the migration driver reads and writes one phase at a time.
import type { BackendName, Compression, ContainerRef, ConversionPlan, Migration, MigrationPhase } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";

/** The row as the controller sees it: the public Migration plus what only the driver needs. */
export interface MigrationRecord extends Migration {
  backend: BackendName;
  /** The target's backend: the source's, or another when the move converts (ct migrate --backend). */
  targetBackend: BackendName;
  /** SHA-256 of the transfer token; the token itself is derived, never stored (migration/transfer-token.ts). */
  tokenSha256: string;
  wasRunning: boolean;
  stoppedUnixMs: number;
  targetCleanupPending: boolean;
  sourceCleanupPending: boolean;
  /** The phase whose failure began the rollback; undefined before one (or on rows older than it). */
  failedPhase: MigrationPhase | undefined;
  bwlimitBytesPerSecond: number;
}

interface MigrationRow {
  id: string;
  container: string;
  backend: BackendName;
  source_host: string;
  target_host: string;
  phase: MigrationPhase;
  token: string;
  was_running: number;
  compression: Compression;
  bytes: number;
  total_bytes: number;
  sha256: string;
  error: string;
  started_ms: number;
  stopped_ms: number | null;
  finished_ms: number | null;
  downtime_ms: number | null;
  target_cleanup_pending: number;
  source_cleanup_pending: number;
  failed_phase: MigrationPhase | "";
  stop_ms: number;
  final_sync_ms: number;
  start_ms: number;
  stop_timeout_s: number;
  keep_source: number;
  source_kept: number;
  bwlimit_bps: number;
  total_is_estimate: number;
  failed_host: string;
  phase_started_ms: number;
  target_backend: BackendName | "";
  conversion: string;
  precopy: number;
  precopy_passes: number;
}

function toRecord(r: MigrationRow): MigrationRecord {
  return {
    id: r.id,
    container: r.container,
    backend: r.backend,
    sourceHost: r.source_host,
    targetHost: r.target_host,
    phase: r.phase,
    tokenSha256: r.token,
    wasRunning: r.was_running === 1,
    compression: r.compression,
    bytes: r.bytes,
    totalBytes: r.total_bytes,
    sha256: r.sha256,
    error: r.error,
    startedUnixMs: r.started_ms,
    stoppedUnixMs: r.stopped_ms ?? 0,
    finishedUnixMs: r.finished_ms ?? 0,
    downtimeMs: r.downtime_ms ?? 0,
    targetCleanupPending: r.target_cleanup_pending === 1,
    sourceCleanupPending: r.source_cleanup_pending === 1,
    failedPhase: r.failed_phase || undefined,
    stopMs: r.stop_ms,
    finalSyncMs: r.final_sync_ms,
    startMs: r.start_ms,
    stopTimeoutSeconds: r.stop_timeout_s,
    keepSource: r.keep_source === 1,
    sourceKept: r.source_kept === 1,
    bwlimitBytesPerSecond: r.bwlimit_bps,
    totalIsEstimate: r.total_is_estimate === 1,
    failedHost: r.failed_host,
    phaseStartedUnixMs: r.phase_started_ms || r.started_ms,
    targetBackend: r.target_backend || r.backend,
    precopy: r.precopy === 1,
    precopyPasses: r.precopy_passes,
    ...(r.conversion ? { conversion: JSON.parse(r.conversion) as ConversionPlan } : {}),
  };
}

/** The public view, without the token. */
export function toMigration(m: MigrationRecord): Migration {
  return {
    id: m.id,
    container: m.container,
    sourceHost: m.sourceHost,
    targetHost: m.targetHost,
    phase: m.phase,
    bytes: m.bytes,
    totalBytes: m.totalBytes,
    error: m.error,
    startedUnixMs: m.startedUnixMs,
    finishedUnixMs: m.finishedUnixMs,
    downtimeMs: m.downtimeMs,
    compression: m.compression,
    sha256: m.sha256,
    stopMs: m.stopMs,
    finalSyncMs: m.finalSyncMs,
    startMs: m.startMs,
    wasRunning: m.wasRunning,
    stopTimeoutSeconds: m.stopTimeoutSeconds,
    keepSource: m.keepSource,
    sourceKept: m.sourceKept,
    totalIsEstimate: m.totalIsEstimate,
    failedHost: m.failedHost,
    phaseStartedUnixMs: m.phaseStartedUnixMs,
    precopy: m.precopy,
    precopyPasses: m.precopyPasses,
    ...(m.conversion ? { conversion: m.conversion } : {}),
  };
}

/** The container on the source host. */
export const migrationRef = (m: MigrationRecord): ContainerRef => ({ name: m.container, backend: m.backend });
/** The container on the target host: under another backend when the move converts. */
export const targetRef = (m: MigrationRecord): ContainerRef => ({ name: m.container, backend: m.targetBackend });

export interface NewMigration {
  id: string;
  container: string;
  backend: BackendName;
  sourceHost: string;
  targetHost: string;
  tokenSha256: string;
  wasRunning: boolean;
  compression: Compression;
  now: number;
  stopTimeoutSeconds?: number;
  keepSource?: boolean;
  bwlimitBytesPerSecond?: number;
  /** Absent: the source's backend. */
  targetBackend?: BackendName;
  conversion?: ConversionPlan;
  precopy?: boolean;
}

export function insertMigration(db: Db, m: NewMigration): void {
  stmt(db,
    `INSERT INTO migrations (id, container, backend, source_host, target_host, phase, token, was_running, compression, started_ms,
       phase_started_ms, stop_timeout_s, keep_source, bwlimit_bps, target_backend, conversion, precopy)
     VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    m.id, m.container, m.backend, m.sourceHost, m.targetHost, m.tokenSha256, m.wasRunning ? 1 : 0, m.compression, m.now,
    m.now, m.stopTimeoutSeconds ?? 30, m.keepSource ? 1 : 0, m.bwlimitBytesPerSecond ?? 0,
    m.targetBackend && m.targetBackend !== m.backend ? m.targetBackend : "", m.conversion ? JSON.stringify(m.conversion) : "", m.precopy ? 1 : 0,
  );
}

export function getMigration(db: Db, id: string): MigrationRecord | undefined {
  const row = stmt(db, "SELECT * FROM migrations WHERE id = ?").get(id) as MigrationRow | undefined;
  return row ? toRecord(row) : undefined;
}

export function listMigrations(db: Db, container = ""): MigrationRecord[] {
  const rows = container
    ? stmt(db, "SELECT * FROM migrations WHERE container = ? ORDER BY started_ms, id").all(container)
    : stmt(db, "SELECT * FROM migrations ORDER BY started_ms, id").all();
  return (rows as MigrationRow[]).map(toRecord);
}

export function unfinishedMigrations(db: Db): MigrationRecord[] {
  const rows = stmt(db, "SELECT * FROM migrations WHERE phase NOT IN ('done', 'rolled_back') ORDER BY started_ms, id")
    .all() as MigrationRow[];
  return rows.map(toRecord);
}

export function activeMigrationFor(db: Db, container: string): MigrationRecord | undefined {
  const row = stmt(db, "SELECT * FROM migrations WHERE container = ? AND phase NOT IN ('done', 'rolled_back')")
    .get(container) as MigrationRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** Fields a phase transition may set together with the phase. */
export interface MigrationPatch {
  phase?: MigrationPhase;
  wasRunning?: boolean;
  bytes?: number;
  totalBytes?: number;
  sha256?: string;
  error?: string;
  stoppedUnixMs?: number;
  finishedUnixMs?: number;
  downtimeMs?: number;
  targetCleanupPending?: boolean;
  sourceCleanupPending?: boolean;
  failedPhase?: MigrationPhase;
  stopMs?: number;
  finalSyncMs?: number;
  startMs?: number;
  sourceKept?: boolean;
  totalIsEstimate?: boolean;
  failedHost?: string;
  phaseStartedUnixMs?: number;
  precopyPasses?: number;
}

const COLUMNS: Record<keyof MigrationPatch, string> = {
  phase: "phase",
  wasRunning: "was_running",
  bytes: "bytes",
  totalBytes: "total_bytes",
  sha256: "sha256",
  error: "error",
  stoppedUnixMs: "stopped_ms",
  finishedUnixMs: "finished_ms",
  downtimeMs: "downtime_ms",
  targetCleanupPending: "target_cleanup_pending",
  sourceCleanupPending: "source_cleanup_pending",
  failedPhase: "failed_phase",
  stopMs: "stop_ms",
  finalSyncMs: "final_sync_ms",
  startMs: "start_ms",
  sourceKept: "source_kept",
  totalIsEstimate: "total_is_estimate",
  failedHost: "failed_host",
  phaseStartedUnixMs: "phase_started_ms",
  precopyPasses: "precopy_passes",
};

export function updateMigration(db: Db, id: string, patch: MigrationPatch): void {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return;
  const sets = entries.map(([k]) => `${COLUMNS[k as keyof MigrationPatch]} = ?`).join(", ");
  const values = entries.map(([, v]) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  stmt(db, `UPDATE migrations SET ${sets} WHERE id = ?`).run(...values, id);
}

export function pendingTargetCleanups(db: Db, host: string): MigrationRecord[] {
  const rows = stmt(db, "SELECT * FROM migrations WHERE target_host = ? AND target_cleanup_pending = 1")
    .all(host) as MigrationRow[];
  return rows.map(toRecord);
}

/** Every host with a leftover waiting to be removed (the reconciler retries them). */
export function hostsWithPendingCleanups(db: Db): string[] {
  const rows = db
    .prepare(
      `SELECT target_host AS host FROM migrations WHERE target_cleanup_pending = 1
       UNION SELECT source_host AS host FROM migrations WHERE source_cleanup_pending = 1`,
    )
    .all() as { host: string }[];
  return rows.map((r) => r.host);
}

export function pendingSourceCleanups(db: Db, host: string): MigrationRecord[] {
  const rows = stmt(db, "SELECT * FROM migrations WHERE source_host = ? AND source_cleanup_pending = 1")
    .all(host) as MigrationRow[];
  return rows.map(toRecord);
}
