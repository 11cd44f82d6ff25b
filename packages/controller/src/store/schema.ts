// Versioned schema. Each entry is applied once, in order, inside a transaction; the index+1 is
// stored in PRAGMA user_version. Never edit a shipped step: append a new one.
export const SCHEMA_STEPS: readonly string[] = [
  `
  CREATE TABLE hosts (
    name TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'cordoned', 'draining', 'down')),
    -- what an operator chose; 'state' falls back to it when a down host comes back
    admin_state TEXT NOT NULL DEFAULT 'ready' CHECK (admin_state IN ('ready', 'cordoned', 'draining')),
    cpus INTEGER NOT NULL,
    memory_bytes INTEGER NOT NULL,
    disk_bytes INTEGER NOT NULL,
    disk_free_bytes INTEGER NOT NULL,
    backends TEXT NOT NULL DEFAULT '[]',
    agent_version TEXT NOT NULL DEFAULT '',
    last_seen_ms INTEGER NOT NULL,
    registered_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE containers (
    name TEXT PRIMARY KEY,
    host TEXT NOT NULL REFERENCES hosts(name),
    backend TEXT NOT NULL,
    spec TEXT NOT NULL,
    desired_state TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    actual_state TEXT NOT NULL,
    usage TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX containers_host ON containers(host);

  CREATE TABLE migrations (
    id TEXT PRIMARY KEY,
    container TEXT NOT NULL,
    backend TEXT NOT NULL,
    source_host TEXT NOT NULL,
    target_host TEXT NOT NULL,
    phase TEXT NOT NULL,
    token TEXT NOT NULL,
    was_running INTEGER NOT NULL DEFAULT 0,
    compression TEXT NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    started_ms INTEGER NOT NULL,
    stopped_ms INTEGER,
    finished_ms INTEGER,
    downtime_ms INTEGER,
    target_cleanup_pending INTEGER NOT NULL DEFAULT 0,
    source_cleanup_pending INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX migrations_container ON migrations(container);

  CREATE TABLE reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL REFERENCES hosts(name),
    container TEXT NOT NULL REFERENCES containers(name) ON DELETE CASCADE,
    migration_id TEXT REFERENCES migrations(id),
    memory_bytes INTEGER NOT NULL,
    cpus REAL NOT NULL
  ) STRICT;
  -- a placed container holds exactly one placement reservation
  CREATE UNIQUE INDEX reservations_placement ON reservations(container) WHERE migration_id IS NULL;
  CREATE INDEX reservations_host ON reservations(host);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    published_ms INTEGER
  ) STRICT;
  CREATE INDEX events_unpublished ON events(id) WHERE published_ms IS NULL;
  `,
  // A rollback undoes the phases up to the one that failed, so the row keeps which one it was.
  `
  ALTER TABLE migrations ADD COLUMN failed_phase TEXT NOT NULL DEFAULT '';
  `,
  // Bearer tokens for people (auth/token-store.ts): only the secret's SHA-256 is kept.
  `
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'read-only')),
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    revoked_ms INTEGER
  ) STRICT;
  `,
  // Scheduler and maintenance: host labels and overcommit ratio, how each container was placed (seed,
  // strategy, constraints, anti-affinity group; replayable), where a drain took it from, and
  // cluster-wide settings such as the default strategy.
  `
  ALTER TABLE hosts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE hosts ADD COLUMN overcommit REAL NOT NULL DEFAULT 1.0;
  ALTER TABLE containers ADD COLUMN placement TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE containers ADD COLUMN drained_from TEXT;
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  `,
  // Step (identity): join tokens (hashed secrets, one use, expiring), the certificate on record for
  // each host, and revoked certificate serials the controller refuses.
  `
  CREATE TABLE join_tokens (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms INTEGER,
    used_by TEXT
  ) STRICT;

  CREATE TABLE host_certs (
    host TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    not_after_ms INTEGER NOT NULL,
    issued_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE revoked_certs (
    serial TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    revoked_ms INTEGER NOT NULL
  ) STRICT;
  `,
  // Control over a running move and the downtime split (migration/); when a host last reported
  // each container, so a down host's containers show how old their state is (reconcile/).
  `
  ALTER TABLE migrations ADD COLUMN stop_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN final_sync_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN start_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN stop_timeout_s INTEGER NOT NULL DEFAULT 30;
  ALTER TABLE migrations ADD COLUMN keep_source INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN source_kept INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN bwlimit_bps INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN total_is_estimate INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE migrations ADD COLUMN failed_host TEXT NOT NULL DEFAULT '';
  ALTER TABLE migrations ADD COLUMN phase_started_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE containers ADD COLUMN last_report_ms INTEGER NOT NULL DEFAULT 0;
  -- containers a host reports that the controller does not manage there, as of its last report
  CREATE TABLE drift (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    state TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (host, name, backend)
  ) STRICT;
  `,  // The container network (network/): who holds each address of the pool, a container or a host's
  // bridge. A removed container or host frees its address with its row.
  `
  CREATE TABLE addresses (
    address TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('container', 'host')),
    holder TEXT NOT NULL,
    UNIQUE (kind, holder)
  ) STRICT;
  CREATE TRIGGER containers_free_address AFTER DELETE ON containers BEGIN
    DELETE FROM addresses WHERE kind = 'container' AND holder = OLD.name;
  END;
  CREATE TRIGGER hosts_free_address AFTER DELETE ON hosts BEGIN
    DELETE FROM addresses WHERE kind = 'host' AND holder = OLD.name;
  END;
  `,
  // Reservations count disk too (a container's disk limit), as they count memory and CPUs.
  `
  ALTER TABLE reservations ADD COLUMN disk_bytes INTEGER NOT NULL DEFAULT 0;
  `,
  // A move to another runtime (ct migrate --backend): the target's backend ('' = the source's) and
  // what the conversion carries and drops, as JSON (a ConversionPlan), shown by migration show.
  `
  ALTER TABLE migrations ADD COLUMN target_backend TEXT NOT NULL DEFAULT '';
  ALTER TABLE migrations ADD COLUMN conversion TEXT NOT NULL DEFAULT '';
  `,
  // Images the controller keeps (api/image-store.ts): every imported or built image, by name and
  // backend, with the SHA-256 of its bytes (the file's name); a host that lacks one gets it on first use.
  `
  CREATE TABLE images (
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL,
    PRIMARY KEY (name, backend)
  ) STRICT;
  `,
  // Indexes by host cost every placement more than the rest of its write: the host is random, so a
  // group commit of 8,192 creates dirtied thousands of their pages (bench:scheduler: 37,000 against
  // 113,000 rows per CPU-second without them). What they served is read from the in-memory state
  // (the containers of a host); what is left (host rm's FK check and cleanup) scans, and is rare.
  `
  DROP INDEX containers_host;
  DROP INDEX reservations_host;
  `,
  // ct migrate --precopy: the tree is copied while the container runs, then only what changed.
  `
  ALTER TABLE migrations ADD COLUMN precopy INTEGER NOT NULL DEFAULT 0;
  `,
  // The live passes a pre-copy has begun (each after the first sends what changed since).
  `
  ALTER TABLE migrations ADD COLUMN precopy_passes INTEGER NOT NULL DEFAULT 0;
  `,
];
