// `corral-controller --db FILE --issue-admin-token`: whoever can write the controller's database is
// its administrator already, so that is where the first admin token (or a lost one's successor)
// comes from. Prints the token alone on stdout and exits; the server is not started.
import { Store } from "../store/store.js";
import { issueToken } from "./token-store.js";

/** Issues an admin token in the database at `dbPath` (created if missing) and returns the secret. */
export function issueAdminToken(dbPath: string, ttlMs = 0): string {
  const store = Store.open(dbPath);
  try {
    return issueToken(store, "admin", ttlMs).token;
  } finally {
    store.close();
  }
}
