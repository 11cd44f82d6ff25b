// The images the controller keeps (api/image-store.ts): one row per name and backend.
import type { BackendName } from "@corral/wire";
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";

export interface StoredImage {
  name: string;
  backend: BackendName;
  sha256: string;
  sizeBytes: number;
}

interface Row {
  name: string;
  backend: BackendName;
  sha256: string;
  size_bytes: number;
}
const fromRow = (r: Row): StoredImage => ({ name: r.name, backend: r.backend, sha256: r.sha256, sizeBytes: r.size_bytes });

export function putStoredImage(db: Db, i: StoredImage, now = Date.now()): void {
  stmt(
    db,
    `INSERT INTO images (name, backend, sha256, size_bytes, stored_ms) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (name, backend) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes, stored_ms = excluded.stored_ms`,
  ).run(i.name, i.backend, i.sha256, i.sizeBytes, now);
}

export function getStoredImage(db: Db, name: string, backend: BackendName): StoredImage | undefined {
  const r = stmt(db, "SELECT name, backend, sha256, size_bytes FROM images WHERE name = ? AND backend = ?").get(name, backend) as Row | undefined;
  return r ? fromRow(r) : undefined;
}

export function listStoredImages(db: Db, name?: string): StoredImage[] {
  const rows = (name === undefined
    ? stmt(db, "SELECT name, backend, sha256, size_bytes FROM images ORDER BY name, backend").all()
    : stmt(db, "SELECT name, backend, sha256, size_bytes FROM images WHERE name = ? ORDER BY backend").all(name)) as Row[];
  return rows.map(fromRow);
}

export function deleteStoredImages(db: Db, name: string): void {
  stmt(db, "DELETE FROM images WHERE name = ?").run(name);
}

/** Whether any row still names these bytes (several names may share one file). */
export function storedBytesInUse(db: Db, sha256: string): boolean {
  return stmt(db, "SELECT 1 FROM images WHERE sha256 = ? LIMIT 1").get(sha256) !== undefined;
}
