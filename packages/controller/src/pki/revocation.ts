// The certificate on record for each host, and the serials the controller no longer accepts.
// isRevoked runs on every call: one primary-key lookup on a prepared statement, read from SQLite
// so that it can never disagree with a committed (or rolled-back) revocation.
import { normalSerial } from "@corral/wire";
import type { Statement } from "better-sqlite3";
import type { Db } from "../store/store.js";

export class CertificateRecords {
  private readonly revokedStmt: Statement<[string], unknown>;

  constructor(private readonly db: Db) {
    this.revokedStmt = db.prepare("SELECT 1 FROM revoked_certs WHERE serial = ?");
  }

  isRevoked(serial: string | undefined): boolean {
    return serial !== undefined && this.revokedStmt.get(normalSerial(serial)) !== undefined;
  }

  hostCertificate(host: string): { serial: string; notAfterMs: number } | undefined {
    const r = this.db.prepare("SELECT serial, not_after_ms FROM host_certs WHERE host = ?").get(host) as { serial: string; not_after_ms: number } | undefined;
    return r && { serial: r.serial, notAfterMs: r.not_after_ms };
  }

  recordHostCertificate(host: string, serial: string, notAfterMs: number, now = Date.now()): void {
    this.db.prepare("INSERT INTO host_certs (host, serial, not_after_ms, issued_ms) VALUES (?, ?, ?, ?)").run(host, normalSerial(serial), notAfterMs, now);
  }

  /** Revokes the host's certificate on record; returns its serial ("" when there was none). */
  revokeHost(host: string, now = Date.now()): string {
    const cert = this.hostCertificate(host);
    if (!cert) return "";
    this.db.prepare("INSERT OR IGNORE INTO revoked_certs (serial, subject, revoked_ms) VALUES (?, ?, ?)").run(cert.serial, `corral://host/${host}`, now);
    this.db.prepare("DELETE FROM host_certs WHERE host = ?").run(host);
    return cert.serial;
  }
}
