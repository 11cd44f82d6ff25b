// The SQLite handle: pragmas, schema migrations, transactions and the outbox hook.
import { chmodSync } from "node:fs";
import Database from "better-sqlite3";
import { SCHEMA_STEPS } from "./schema.js";

export type Db = Database.Database;

export class Store {
  readonly db: Db;
  private readonly listeners = new Set<() => void>();
  private eventsInTx = 0;

  private constructor(db: Db) {
    this.db = db;
  }

  static open(path: string): Store {
    const db = new Database(path);
    // It holds transfer tokens: owner only. SQLite gives -wal/-shm the mode of the main file.
    if (path !== ":memory:" && path !== "") chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.pragma("synchronous = NORMAL");
    applySchema(db);
    return new Store(db);
  }

  get open(): boolean {
    return this.db.open;
  }

  /** Runs fn in one transaction; outbox listeners are told after the commit, never before. */
  tx<T>(fn: () => T): T {
    const outer = !this.db.inTransaction;
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } catch (err) {
      if (outer) this.eventsInTx = 0;
      throw err;
    }
    if (outer && this.eventsInTx > 0) {
      this.eventsInTx = 0;
      for (const l of this.listeners) l();
    }
    return result;
  }

  /** Writes an outbox row. Call inside tx() so the event commits with the change it describes. */
  emit(subject: string, payload: unknown): void {
    if (!this.db.inTransaction) throw new Error(`event ${subject} emitted outside a transaction`);
    this.db
      .prepare("INSERT INTO events (subject, payload, created_ms) VALUES (?, ?, ?)")
      .run(subject, JSON.stringify(payload), Date.now());
    this.eventsInTx++;
  }

  onEvent(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.db.open) this.db.close();
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
