// The SQLite handle: pragmas, schema migrations, transactions and the outbox hook.
import { chmodSync } from "node:fs";
import Database from "better-sqlite3";
import { SCHEMA_STEPS } from "./schema.js";
import { stmt } from "./prepared.js";
import { ClusterState, attachState } from "./cluster-state.js";
import { GroupCommit } from "./group-commit.js";

export type Db = Database.Database;

export class Store {
  readonly db: Db;
  private readonly listeners = new Set<() => void>();
  private eventsInTx = 0;

  /** The cluster state the scheduler and liveness read, kept equal to SQLite by the store functions. */
  readonly state: ClusterState;
  /** Shared transactions for high-rate changes (placements): see group-commit.ts. */
  readonly grouped: GroupCommit;

  private constructor(db: Db, state: ClusterState) {
    this.db = db;
    this.state = state;
    this.grouped = new GroupCommit(this);
  }

  static open(path: string): Store {
    const db = new Database(path);
    // It holds transfer tokens: owner only. SQLite gives -wal/-shm the mode of the main file.
    if (path !== ":memory:" && path !== "") chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.pragma("synchronous = NORMAL");
    // 64 MiB of page cache (the default is 2 MiB): with a million containers the indexes that every
    // create writes no longer fit in 2 MiB, and each insert then waits on pages read back.
    db.pragma("cache_size = -65536");
    applySchema(db);
    const state = ClusterState.load(db);
    attachState(db, state);
    return new Store(db, state);
  }

  get open(): boolean {
    return this.db.open;
  }

  /**
   * Runs fn in one transaction; outbox listeners are told after the commit, never before. When it
   * fails, SQLite rolls back and so does the in-memory state (a nested call rolls back to its savepoint).
   */
  tx<T>(fn: () => T): T {
    const outer = !this.db.inTransaction;
    const mark = outer ? 0 : this.state.mark();
    if (outer) this.state.begin();
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } catch (err) {
      this.state.rollback(mark, outer);
      if (outer) this.eventsInTx = 0;
      throw err;
    }
    if (!outer) return result;
    this.state.commit();
    if (this.eventsInTx > 0) {
      this.eventsInTx = 0;
      for (const l of this.listeners) l();
    }
    return result;
  }

  /** Writes an outbox row. Call inside tx() so the event commits with the change it describes. */
  emit(subject: string, payload: unknown): void {
    if (!this.db.inTransaction) throw new Error(`event ${subject} emitted outside a transaction`);
    stmt(this.db, "INSERT INTO events (subject, payload, created_ms) VALUES (?, ?, ?)")
      .run(subject, JSON.stringify(payload), Date.now());
    this.eventsInTx++;
  }

  onEvent(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (!this.db.open) return;
    this.grouped.flush();
    this.db.close();
  }
}

function applySchema(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_STEPS.length) {
    throw new Error(`database schema version ${current} is newer than this controller (${SCHEMA_STEPS.length})`);
  }
  SCHEMA_STEPS.slice(current).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${current + i + 1}`);
    })();
  });
}
