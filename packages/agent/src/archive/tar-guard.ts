// A pass-through stream that parses tar headers as the bytes flow and fails on any member that
// could write outside the extraction directory: absolute paths, `..` components, hard links that
// point outside, and members reached through a symlink stored earlier in the same archive.
// Archives come from another host and are untrusted input (DESIGN.md, "Security").
import { Transform, type TransformCallback } from "node:stream";
import { CorralError } from "@corral/wire";

const BLOCK = 512;

export class UnsafeArchiveError extends CorralError {
  constructor(message: string) {
    super("invalid_argument", `unsafe archive: ${message}`);
  }
}

/** Normalizes a member path and throws if it escapes. Returns it without a leading "./" or trailing "/". */
export function checkMemberPath(raw: string, what = "member"): string {
  if (raw.includes("\0")) throw new UnsafeArchiveError(`${what} name contains a NUL byte`);
  if (raw.startsWith("/")) throw new UnsafeArchiveError(`${what} "${raw}" is an absolute path`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new UnsafeArchiveError(`${what} "${raw}" contains ".."`);
  return parts.join("/");
}

function readString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("utf8", off, end === -1 || end > off + len ? off + len : end);
}

function readNumber(buf: Buffer, off: number, len: number): number {
  // GNU base-256 for big values: high bit of the first byte set.
  const first = buf[off] ?? 0;
  if (first & 0x80) {
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + (buf[off + i] ?? 0);
    return v;
  }
  const s = readString(buf, off, len).trim();
  return s === "" ? 0 : parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
  return sum === readNumber(h, 148, 8);
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) break;
    const len = parseInt(data.toString("ascii", pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0) throw new UnsafeArchiveError("corrupt pax header");
    const rec = data.toString("utf8", sp + 1, pos + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

type Pending = { path?: string; linkpath?: string };

export class TarGuard extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of member data still to skip (padded to whole blocks). */
  private skip = 0;
  /** Meta member (GNU long name/link, pax) whose data we are collecting. */
  private meta: { type: string; size: number; chunks: Buffer[]; got: number } | undefined;
  private pending: Pending = {};
  private readonly symlinks = new Set<string>();
  private ended = false;
  members = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.inspect(chunk);
      cb(null, chunk);
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (!this.ended && (this.skip > 0 || this.meta || this.buf.length > 0)) {
      cb(new UnsafeArchiveError("archive is truncated"));
      return;
    }
    cb();
  }

  private inspect(chunk: Buffer): void {
    if (this.ended) return;
    let data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = Buffer.alloc(0);
    while (data.length > 0 && !this.ended) {
      if (this.meta) {
        const want = Math.min(this.meta.size - this.meta.got, data.length);
        this.meta.chunks.push(data.subarray(0, want));
        this.meta.got += want;
        data = data.subarray(want);
        if (this.meta.got === this.meta.size) {
          this.finishMeta();
          this.skip = (BLOCK - (this.meta.size % BLOCK)) % BLOCK;
          this.meta = undefined;
        }
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length);
        this.skip -= n;
        data = data.subarray(n);
        continue;
      }
      if (data.length < BLOCK) {
        this.buf = Buffer.from(data);
        return;
      }
      const header = data.subarray(0, BLOCK);
      data = data.subarray(BLOCK);
      this.header(header);
    }
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.ended = true; // end-of-archive marker; tar ignores what follows
      return;
    }
    if (!checksumOk(h)) throw new UnsafeArchiveError("corrupt tar header (bad checksum)");
    const type = String.fromCharCode(h[156] || 0x30);
    const size = readNumber(h, 124, 12);
    if (type === "L" || type === "K" || type === "x" || type === "g") {
      if (size > 1024 * 1024) throw new UnsafeArchiveError("oversized extended header");
      this.meta = { type, size, chunks: [], got: 0 };
      if (size === 0) {
        this.finishMeta();
        this.meta = undefined;
      }
      return;
    }
    const magic = h.toString("ascii", 257, 262);
    const prefix = magic === "ustar" ? readString(h, 345, 155) : "";
    const name = this.pending.path ?? (prefix ? `${prefix}/${readString(h, 0, 100)}` : readString(h, 0, 100));
    const link = this.pending.linkpath ?? readString(h, 157, 100);
    this.pending = {};
    this.member(type, name, link);
    // Only regular files and similar carry data; links, dirs and devices have none.
    const hasData = type === "0" || type === "\0" || type === "7" || type === "S";
    this.skip = hasData ? Math.ceil(size / BLOCK) * BLOCK : 0;
  }

  private finishMeta(): void {
    const m = this.meta!;
    const data = Buffer.concat(m.chunks);
    if (m.type === "L") this.pending.path = readString(data, 0, data.length);
    else if (m.type === "K") this.pending.linkpath = readString(data, 0, data.length);
    else {
      const pax = parsePax(data);
      if (m.type === "g" && (pax.has("path") || pax.has("linkpath"))) {
        throw new UnsafeArchiveError("global pax header sets a path");
      }
      const path = pax.get("path");
      const linkpath = pax.get("linkpath");
      if (path !== undefined) this.pending.path = path;
      if (linkpath !== undefined) this.pending.linkpath = linkpath;
    }
  }

  private member(type: string, rawName: string, rawLink: string): void {
    const name = checkMemberPath(rawName);
    if (name === "" && type !== "5") throw new UnsafeArchiveError("member with an empty name");
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (this.symlinks.has(dir)) throw new UnsafeArchiveError(`member "${rawName}" goes through symlink "${dir}"`);
    }
    if (type === "1") checkMemberPath(rawLink, `hard link target of "${rawName}"`);
    if (type === "2") this.symlinks.add(name);
    else this.symlinks.delete(name);
    this.members++;
  }
}
