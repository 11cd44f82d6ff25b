// Second-level (per-UID/GID) disk quotas of a simfs CT, as vzquota's vzdqdump prints them and
// vzdqload reads them back (vzquota 3.x, src/vzdqdump.c, include/quotadump.h): vzmigrate dumps them
// on the source with `vzdqdump CTID -U -G -T` and loads them on the target after `vzctl quotainit`.
// A dump that came from another host is untrusted: it is parsed strictly and written out again in
// its canonical form, so vzdqload only ever reads what this parser accepted.
import { invalidArgument } from "@corral/wire";

/** vzdqdump's flags for everything vzmigrate carries: limits, grace times, expiration times. */
export const VZDQ_ALL = ["-U", "-G", "-T"] as const;

/** Exit codes of vzdqdump/vzdqload that the backend acts on (vzquota's common.h). */
export const VZDQ_EXIT = { usage: 2, quotaFile: 4, notRunning: 6, noQuotaFile: 11 } as const;

export type UgidType = "user" | "group";

export interface UgidGrace {
  type: UgidType;
  blockSeconds: number;
  inodeSeconds: number;
}

export interface UgidQuota {
  id: number;
  type: UgidType;
  /** Limits in 1K blocks and inodes; 0 is no limit. */
  blockSoft: number;
  blockHard: number;
  inodeSoft: number;
  inodeHard: number;
  /** When the grace period of an exceeded soft limit ends (epoch seconds), 0 when not exceeded. */
  blockTime: number;
  inodeTime: number;
}

export interface UgidQuotaDump {
  /** ugid_quota_status: the CT's second-level quota is on (QUOTAUGIDLIMIT > 0 at quota init). */
  on: boolean;
  grace: UgidGrace[];
  entries: UgidQuota[];
}

// More than QUOTAUGIDLIMIT could ever hold in practice; a dump beyond it is not a CT's quota.
const MAX_ENTRIES = 1 << 16;
const TYPES: readonly UgidType[] = ["user", "group"];

function num(text: string | undefined, line: string): number {
  if (!text || !/^\d{1,19}$/.test(text)) throw invalidArgument(`vzdqdump output: "${line}" is not a line of numbers`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`vzdqdump output: ${text} in "${line}" is out of range`);
  return n;
}

function typeOf(text: string | undefined, line: string): UgidType {
  const t = TYPES[num(text, line)];
  if (!t) throw invalidArgument(`vzdqdump output: quota type ${text} in "${line}" is neither 0 (user) nor 1 (group)`);
  return t;
}

/** Parses `vzdqdump ID -U -G -T` (any of the three; a line's width says which columns it has). */
export function parseVzdqdump(text: string): UgidQuotaDump {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const status = /^ugid_quota_status:\s+([01])$/.exec(lines[0] ?? "");
  if (!status) throw invalidArgument(`vzdqdump output does not start with "ugid_quota_status:" (${JSON.stringify((lines[0] ?? "").slice(0, 60))})`);
  const dump: UgidQuotaDump = { on: status[1] === "1", grace: [], entries: [] };
  let expected: number | undefined;
  const seen = new Set<string>();
  for (const line of lines.slice(1)) {
    const [label, ...w] = line.split(/\s+/);
    if (label === "grace_time:" && w.length === 3) {
      dump.grace.push({ type: typeOf(w[0], line), blockSeconds: num(w[1], line), inodeSeconds: num(w[2], line) });
    } else if (label === "ugid_number:" && w.length === 1 && expected === undefined) {
      expected = num(w[0], line);
      if (expected > MAX_ENTRIES) throw invalidArgument(`vzdqdump output: ${expected} per-UID/GID quotas, more than ${MAX_ENTRIES}`);
    } else if (label === "ugid:" && expected !== undefined && (w.length === 6 || w.length === 8)) {
      const [id, type, bs, bh, is, ih, bt, it] = w;
      const q: UgidQuota = {
        id: num(id, line),
        type: typeOf(type, line),
        blockSoft: num(bs, line),
        blockHard: num(bh, line),
        inodeSoft: num(is, line),
        inodeHard: num(ih, line),
        blockTime: bt === undefined ? 0 : num(bt, line),
        inodeTime: it === undefined ? 0 : num(it, line),
      };
      if (q.id > 0xffffffff) throw invalidArgument(`vzdqdump output: id ${q.id} in "${line}" is not a 32-bit UID/GID`);
      const key = `${q.type}:${q.id}`;
      if (seen.has(key)) throw invalidArgument(`vzdqdump output: ${q.type} ${q.id} appears twice`);
      seen.add(key);
      dump.entries.push(q);
    } else {
      throw invalidArgument(`vzdqdump output: unexpected line "${line.slice(0, 80)}"`);
    }
  }
  if (!dump.on && (dump.grace.length || expected !== undefined)) throw invalidArgument("vzdqdump output: quotas listed while ugid_quota_status is 0");
  if (dump.grace.length && (dump.grace.length !== 2 || dump.grace[0]!.type !== "user" || dump.grace[1]!.type !== "group")) {
    throw invalidArgument("vzdqdump output: grace times must be given for type 0 (user) then 1 (group)");
  }
  if (expected !== undefined && expected !== dump.entries.length) {
    throw invalidArgument(`vzdqdump output: ugid_number says ${expected}, ${dump.entries.length} ugid lines follow`);
  }
  return dump;
}

/** The canonical `-U -G -T` dump of `d`, as vzdqload reads it (vzdqdump's own layout). */
export function formatVzdqdump(d: UgidQuotaDump): string {
  const out = [`ugid_quota_status:\t${d.on ? 1 : 0}`];
  if (!d.on) return out.join("\n") + "\n";
  const grace = TYPES.map((type) => d.grace.find((g) => g.type === type) ?? { type, blockSeconds: 0, inodeSeconds: 0 });
  out.push("#grace_time:\ttype\tblock\tinode");
  for (const g of grace) out.push(`grace_time:\t${TYPES.indexOf(g.type)}\t${g.blockSeconds}\t${g.inodeSeconds}`);
  out.push(`ugid_number:\t${d.entries.length}`);
  if (d.entries.length) out.push("#ugid:\tID\ttype\tbsoft\tbhard\tisoft\tihard\tbtime\titime");
  for (const q of d.entries) {
    out.push(["ugid:", q.id, TYPES.indexOf(q.type), q.blockSoft, q.blockHard, q.inodeSoft, q.inodeHard, q.blockTime, q.inodeTime].join("\t"));
  }
  return out.join("\n") + "\n";
}

/** "user 500: blocks 1048576/1153434 KiB, inodes 50000/55000" — one quota, for a plan or an error. */
export function describeUgidQuota(q: UgidQuota): string {
  const pair = (soft: number, hard: number, unit: string) => `${soft || "-"}/${hard || "-"}${unit}`;
  return `${q.type} ${q.id}: blocks ${pair(q.blockSoft, q.blockHard, " KiB")}, inodes ${pair(q.inodeSoft, q.inodeHard, "")} (soft/hard)`;
}
