// Reading the events outbox for the publisher. Rows are written by Store.emit().
import type { Db } from "./store.js";

export interface OutboxEvent {
  id: number;
  subject: string;
  payload: string;
  createdUnixMs: number;
}

export function unpublishedEvents(db: Db, limit: number): OutboxEvent[] {
  return db
    .prepare(
      `SELECT id, subject, payload, created_ms AS createdUnixMs FROM events
       WHERE published_ms IS NULL ORDER BY id LIMIT ?`,
    )
    .all(limit) as OutboxEvent[];
}

export function markPublished(db: Db, id: number, now: number): void {
  db.prepare("UPDATE events SET published_ms = ? WHERE id = ?").run(now, id);
}

export function countUnpublished(db: Db): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM events WHERE published_ms IS NULL").get() as { n: number }).n;
}
