// The container network's addresses: which container or host bridge holds each. Written in the same
// transaction as the row that holds it; containers and hosts free theirs on delete (schema triggers).
import type { Db } from "./store.js";
import { stmt } from "./prepared.js";
import { stateOf, type AddressHold } from "./cluster-state.js";

export function holdAddress(db: Db, address: string, hold: AddressHold): void {
  stmt(db, "INSERT INTO addresses (address, kind, holder) VALUES (?, ?, ?)").run(address, hold.kind, hold.holder);
  stateOf(db).holdAddress(address, hold);
}

export function releaseAddress(db: Db, hold: AddressHold): void {
  stmt(db, "DELETE FROM addresses WHERE kind = ? AND holder = ?").run(hold.kind, hold.holder);
  stateOf(db).releaseAddress(hold);
}
