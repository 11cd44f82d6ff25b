// Cluster-wide settings (`corral cluster set key=value`), kept in memory beside SQLite.
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { stateOf } from "./cluster-state.js";

export function getSetting(db: Db, key: string): string | undefined {
  return stateOf(db).setting(key);
}

export function setSetting(db: Db, key: string, value: string): void {
  stmt(db, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
    key,
    value,
  );
  stateOf(db).setSetting(key, value);
}
