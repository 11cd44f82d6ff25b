// Reading the events outbox for the publisher. Rows are written by Store.emit().
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";

export interface OutboxEvent {
  id: number;
  subject: string;
  payload: string;
  createdUnixMs: number;
}

export function unpublishedEvents(db: Db, limit: number): OutboxEvent[] {
  return stmt(db, 
      `SELECT id, subject, payload, created_ms AS createdUnixMs FROM events
       WHERE published_ms IS NULL ORDER BY id LIMIT ?`,
    )
    .all(limit) as OutboxEvent[];
}

export function markPublished(db: Db, id: number, now: number): void {
  stmt(db, "UPDATE events SET published_ms = ? WHERE id = ?").run(now, id);
}

export function countUnpublished(db: Db): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM events WHERE published_ms IS NULL").get() as { n: number }).n;
}
