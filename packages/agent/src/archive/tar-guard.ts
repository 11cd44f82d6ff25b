// A strict tar reader in front of GNU tar (and of dockerd/LXD, which unpack tar too). Archives come
// from another host and are untrusted (DESIGN.md, "Security"). It accepts only what it fully
// understands, and re-emits exactly the bytes it checked, ending with its own end-of-archive
// marker, so the extractor never sees anything unchecked:
//  - POSIX ustar/pax and GNU headers with strict octal fields and a valid checksum; GNU headers
//    must leave their atime/ctime/offset/sparse area empty (no old-GNU sparse, multi-volume);
//  - regular files, hard links to regular files stored earlier, symlinks, directories and FIFOs;
//    device nodes, GNU dumpdirs, sparse files, volume labels and unknown typeflags are refused;
//  - pax records are parsed exactly; only known keys are accepted (path, linkpath, size, owners,
//    times, ACLs, user.* xattrs); `security.capability` and other xattr namespaces are refused;
//  - no absolute paths, no `..`, no member through a symlink or a non-directory, no second member
//    of the same name (a directory may be repeated); a lone zero block and trailing data are refused.
// Paths live in a trie of components, so checking costs time linear in the input.
import { Transform, type TransformCallback } from "node:stream";
import { CorralError } from "@corral/wire";

const BLOCK = 512;
const MAX_PATH = 4096;
const MAX_COMPONENT = 255;
const MAX_LONGNAME = MAX_PATH + 1;
const MAX_PAX = 1024 * 1024;
const MAX_CAPTURE = 1024 * 1024;

export class UnsafeArchiveError extends CorralError {
  constructor(message: string) {
    super("invalid_argument", `unsafe archive: ${message}`);
  }
}

export interface TarPolicy {
  /**
   * setuid/setgid regular files: "refuse", or "allow" (recorded in `setid` so the backend can check
   * them against the container's id map). Device nodes and file capabilities are always refused.
   */
  setid: "refuse" | "allow";
  /** Regular files whose content the backend reads after the check (e.g. LXD's backup/index.yaml). */
  capture?: readonly string[];
}

export interface SetidFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/** Normalizes a member path and throws if it escapes. Returns it without a leading "./" or trailing "/". */
export function checkMemberPath(raw: string, what = "member"): string {
  if (raw.includes("\0")) throw new UnsafeArchiveError(`${what} name contains a NUL byte`);
  if (raw.length > MAX_PATH) throw new UnsafeArchiveError(`${what} name is longer than ${MAX_PATH} bytes`);
  if (raw.startsWith("/")) throw new UnsafeArchiveError(`${what} "${show(raw)}" is an absolute path`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new UnsafeArchiveError(`${what} "${show(raw)}" contains ".."`);
  if (parts.some((p) => p.length > MAX_COMPONENT)) throw new UnsafeArchiveError(`${what} has a name component longer than ${MAX_COMPONENT} bytes`);
  return parts.join("/");
}

const show = (s: string): string => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

/** Bytes as they are, one char per byte: GNU tar compares names byte for byte, so must we. */
function field(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("latin1", off, end === -1 || end > off + len ? off + len : end);
}

/** A numeric header field: octal digits, optionally space-padded, ended by NUL or space; or GNU base-256. */
function number(buf: Buffer, off: number, len: number, what: string): number {
  const first = buf[off] ?? 0;
  if (first === 0x80) {
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + (buf[off + i] ?? 0);
    if (!Number.isSafeInteger(v)) throw new UnsafeArchiveError(`${what} field is too large`);
    return v;
  }
  if (first & 0x80) throw new UnsafeArchiveError(`${what} field is negative or malformed`);
  const s = buf.toString("latin1", off, off + len);
  const m = /^ *([0-7]*)[ \0]*$/.exec(s);
  if (!m) throw new UnsafeArchiveError(`${what} field is not octal: ${JSON.stringify(s)}`);
  return m[1] === "" ? 0 : parseInt(m[1]!, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
  return sum === number(h, 148, 8, "checksum");
}

const isZero = (b: Buffer): boolean => {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

type PaxKey = "path" | "linkpath" | "size" | "uid" | "gid";
type Pax = Partial<Record<PaxKey, string>>;

/** Parses pax records exactly ("LEN key=value\n", LEN counting the whole record) and checks every key. */
function parsePax(data: Buffer): Pax {
  const out: Pax = {};
  const seen = new Set<string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const lenText = sp === -1 ? "" : data.toString("latin1", pos, sp);
    if (!/^[1-9]\d{0,7}$/.test(lenText)) throw new UnsafeArchiveError("corrupt pax header (record length)");
    const len = Number(lenText);
    if (pos + len > data.length || data[pos + len - 1] !== 0x0a) throw new UnsafeArchiveError("corrupt pax header (record end)");
    const rec = data.toString("latin1", sp + 1, pos + len - 1);
    pos += len;
    const eq = rec.indexOf("=");
    if (eq <= 0) throw new UnsafeArchiveError("corrupt pax header (no key)");
    const key = rec.slice(0, eq);
    const value = rec.slice(eq + 1);
    if (seen.has(key)) throw new UnsafeArchiveError(`pax header repeats "${show(key)}"`);
    seen.add(key);
    // xattr values are binary (security.capability holds NULs), and so are ACLs as LXD's backups
    // write them (the system.posix_acl_* bytes; GNU tar writes text); every other value is text.
    if (!key.startsWith("SCHILY.xattr.") && !key.startsWith("SCHILY.acl.") && value.includes("\0")) throw new UnsafeArchiveError(`pax value of "${show(key)}" contains a NUL byte`);
    checkPaxKey(key, value, out);
  }
  return out;
}

function checkPaxKey(key: string, value: string, out: Pax): void {
  switch (key) {
    case "path":
    case "linkpath":
      if (value === "") throw new UnsafeArchiveError(`pax "${key}" is empty`);
      out[key] = value;
      return;
    case "size":
    case "uid":
    case "gid":
      if (!/^\d{1,15}$/.test(value)) throw new UnsafeArchiveError(`pax "${key}" is not a number: ${JSON.stringify(show(value))}`);
      out[key] = value;
      return;
    case "mtime":
    case "atime":
    case "ctime":
      if (!/^-?\d{1,20}(\.\d{1,9})?$/.test(value)) throw new UnsafeArchiveError(`pax "${key}" is not a time`);
      return;
    case "uname":
    case "gname":
    case "SCHILY.acl.access":
    case "SCHILY.acl.default":
      return;
  }
  if (key.startsWith("SCHILY.xattr.")) {
    const name = key.slice("SCHILY.xattr.".length);
    if (name === "security.capability") throw new UnsafeArchiveError("file capabilities (security.capability xattr) are not accepted");
    if (!name.startsWith("user.") || name.length === 5) throw new UnsafeArchiveError(`xattr "${show(name)}" is not accepted (only user.* xattrs move)`);
    return;
  }
  if (key.startsWith("GNU.sparse.")) throw new UnsafeArchiveError("sparse files are not accepted");
  throw new UnsafeArchiveError(`pax keyword "${show(key)}" is not accepted`);
}

type Kind = "dir" | "implicit" | "file" | "link" | "symlink" | "fifo";
interface Node {
  kind: Kind;
  children?: Map<string, Node>;
}

const TYPES: Record<string, Kind | undefined> = { "0": "file", "\0": "file", "1": "link", "2": "symlink", "5": "dir", "6": "fifo" };
const REFUSED_TYPES: Record<string, string> = {
  "3": "character device",
  "4": "block device",
  "7": "contiguous file",
  D: "GNU dumpdir",
  S: "old-GNU sparse file",
  M: "multi-volume continuation",
  N: "GNU long-name (old form)",
  V: "volume label",
  g: "global pax header",
};

type Meta = { type: "x" | "L" | "K"; header: Buffer; size: number; chunks: Buffer[]; got: number };

export class TarGuard extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  /** Data bytes of the current member still to pass, then padding to the block. */
  private data = 0;
  private pad = 0;
  private meta: Meta | undefined;
  private metaPad = 0;
  private pending: { pax?: Pax; longName?: string; longLink?: string; types: string[]; headers: Buffer[] } = { types: [], headers: [] };
  private readonly root: Node = { kind: "dir", children: new Map() };
  private zeroBlocks = 0;
  private ended = false;
  private capturing: { path: string; chunks: Buffer[] } | undefined;
  members = 0;
  readonly setid: SetidFile[] = [];
  readonly captured = new Map<string, Buffer>();

  constructor(private readonly policy: TarPolicy = { setid: "refuse" }) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.inspect(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (!this.ended) {
      cb(new UnsafeArchiveError(this.zeroBlocks === 1 && this.buf.length === 0 ? "archive ends after a lone zero block" : "archive is truncated"));
      return;
    }
    if (this.buf.length > 0 && !isZero(this.buf)) {
      cb(new UnsafeArchiveError("data after the end of the archive"));
      return;
    }
    cb();
  }

  private inspect(chunk: Buffer): void {
    let data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.ended) {
        // Past the end: GNU tar pads records with zeros; anything else is smuggled.
        if (!isZero(data)) throw new UnsafeArchiveError("data after the end of the archive");
        return;
      }
      if (this.meta) {
        const m = this.meta;
        const want = Math.min(m.size - m.got, data.length);
        m.chunks.push(data.subarray(0, want));
        m.got += want;
        data = data.subarray(want);
        if (m.got === m.size) this.finishMeta();
        continue;
      }
      if (this.metaPad > 0) {
        const n = Math.min(this.metaPad, data.length);
        if (!isZero(data.subarray(0, n))) throw new UnsafeArchiveError("non-zero padding after an extended header");
        this.metaPad -= n;
        data = data.subarray(n);
        continue;
      }
      if (this.data > 0) {
        const n = Math.min(this.data, data.length);
        const part = data.subarray(0, n);
        this.push(part);
        if (this.capturing) this.capturing.chunks.push(Buffer.from(part));
        this.data -= n;
        data = data.subarray(n);
        if (this.data === 0 && this.capturing) {
          this.captured.set(this.capturing.path, Buffer.concat(this.capturing.chunks));
          this.capturing = undefined;
        }
        continue;
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, data.length);
        this.push(Buffer.alloc(n));
        this.pad -= n;
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
    if (isZero(h)) {
      if (this.pending.headers.length) throw new UnsafeArchiveError("extended header not followed by a member");
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) {
        this.ended = true;
        this.push(Buffer.alloc(2 * BLOCK));
        // The extractor gets its end now. The record padding that follows (checked to be zeros)
        // may come after a pause, when tar has already exited and closed its pipe.
        this.push(null);
      }
      return;
    }
    if (this.zeroBlocks > 0) throw new UnsafeArchiveError("a lone zero block inside the archive");
    if (!checksumOk(h)) throw new UnsafeArchiveError("corrupt tar header (bad checksum)");
    const magic = h.toString("latin1", 257, 265);
    const posix = magic === "ustar\u000000";
    const gnu = magic === "ustar  \0";
    if (!posix && !gnu) throw new UnsafeArchiveError("unsupported tar header format (neither POSIX ustar nor GNU)");
    if (gnu && !isZero(h.subarray(345, BLOCK))) {
      throw new UnsafeArchiveError("GNU header with atime/ctime, offset or sparse fields (incremental, multi-volume or sparse archive)");
    }
    const type = String.fromCharCode(h[156] ?? 0);
    let size = number(h, 124, 12, "size");
    if (type === "x" || type === "L" || type === "K") {
      const max = type === "x" ? MAX_PAX : MAX_LONGNAME;
      if (size > max) throw new UnsafeArchiveError(`oversized ${type === "x" ? "pax" : "GNU long-name"} header (${size} bytes)`);
      if (this.pending.types.includes(type)) throw new UnsafeArchiveError(`two "${type}" headers before one member`);
      this.pending.types.push(type);
      this.meta = { type, header: Buffer.from(h), size, chunks: [], got: 0 };
      if (size === 0) this.finishMeta();
      return;
    }
    const refused = REFUSED_TYPES[type];
    const kind = TYPES[type];
    if (refused || !kind) {
      const name = this.pending.pax?.path ?? this.pending.longName ?? field(h, 0, 100);
      throw new UnsafeArchiveError(`member "${show(name)}" is a ${refused ?? `member of unknown type ${JSON.stringify(type)}`}, which is not accepted`);
    }
    const pax = this.pending.pax ?? {};
    if (pax.path !== undefined && this.pending.longName !== undefined) throw new UnsafeArchiveError("member has both a pax path and a GNU long name");
    if (pax.linkpath !== undefined && this.pending.longLink !== undefined) throw new UnsafeArchiveError("member has both a pax linkpath and a GNU long link");
    const prefix = posix ? field(h, 345, 155) : "";
    const rawName = pax.path ?? this.pending.longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const rawLink = pax.linkpath ?? this.pending.longLink ?? field(h, 157, 100);
    if (pax.size !== undefined) size = Number(pax.size);
    const uid = pax.uid !== undefined ? Number(pax.uid) : number(h, 108, 8, "uid");
    const gid = pax.gid !== undefined ? Number(pax.gid) : number(h, 116, 8, "gid");
    const mode = number(h, 100, 8, "mode");
    if (kind !== "file" && size !== 0) throw new UnsafeArchiveError(`member "${show(rawName)}" is a ${kind} with ${size} data bytes`);
    // GNU tar reads an old-style regular member named "x/" as a directory (and its data as headers).
    if (kind !== "dir" && rawName.endsWith("/")) throw new UnsafeArchiveError(`member "${show(rawName)}" is a ${kind} with a directory's trailing slash`);
    const path = this.member(kind, rawName, rawLink);
    if (kind === "file" && mode & 0o6000) {
      if (this.policy.setid === "refuse") throw new UnsafeArchiveError(`member "${show(rawName)}" is setuid/setgid, which is not accepted here`);
      this.setid.push({ path, mode: mode & 0o7777, uid, gid });
    }
    // Checked: now pass the extended headers and this header on, then the member's data.
    for (const p of this.pending.headers) this.push(p);
    this.pending = { types: [], headers: [] };
    this.push(Buffer.from(h));
    this.data = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (kind === "file" && this.policy.capture?.includes(path)) {
      if (size > MAX_CAPTURE) throw new UnsafeArchiveError(`"${path}" is larger than ${MAX_CAPTURE} bytes`);
      if (size === 0) this.captured.set(path, Buffer.alloc(0));
      else this.capturing = { path, chunks: [] };
    }
  }

  private finishMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    const data = Buffer.concat(m.chunks);
    const padLen = (BLOCK - (m.size % BLOCK)) % BLOCK;
    if (m.type === "x") this.pending.pax = parsePax(data);
    else {
      const value = field(data, 0, data.length);
      if (value === "") throw new UnsafeArchiveError(`empty GNU long ${m.type === "L" ? "name" : "link"}`);
      if (m.type === "L") this.pending.longName = value;
      else this.pending.longLink = value;
    }
    // Held until the member it describes is checked; its padding is consumed (zeros only) unseen.
    this.pending.headers.push(m.header, data, Buffer.alloc(padLen));
    this.metaPad = padLen;
  }

  /** Records a member in the trie; returns its normalized path. */
  private member(kind: Kind, rawName: string, rawLink: string): string {
    const name = checkMemberPath(rawName);
    if (name === "") {
      if (kind !== "dir") throw new UnsafeArchiveError("member with an empty name");
      this.members++;
      return name;
    }
    if (kind === "link") {
      const target = checkMemberPath(rawLink, `hard link target of "${show(rawName)}"`);
      const t = this.lookup(target);
      if (!t) throw new UnsafeArchiveError(`hard link "${show(rawName)}" points to "${show(target)}", which is not earlier in the archive`);
      if (t.kind !== "file") throw new UnsafeArchiveError(`hard link "${show(rawName)}" points to a ${t.kind}, not a regular file`);
    }
    if (kind === "symlink" && rawLink === "") throw new UnsafeArchiveError(`symlink "${show(rawName)}" has no target`);
    const parts = name.split("/");
    let node = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const c = parts[i]!;
      let next = node.children!.get(c);
      if (!next) {
        next = { kind: "implicit", children: new Map() };
        node.children!.set(c, next);
      } else if (next.kind !== "dir" && next.kind !== "implicit") {
        const through = parts.slice(0, i + 1).join("/");
        throw new UnsafeArchiveError(
          next.kind === "symlink" ? `member "${show(rawName)}" goes through symlink "${show(through)}"` : `member "${show(rawName)}" goes through ${next.kind} "${show(through)}"`,
        );
      }
      node = next;
    }
    const last = parts[parts.length - 1]!;
    const existing = node.children!.get(last);
    if (existing) {
      const bothDirs = kind === "dir" && (existing.kind === "dir" || existing.kind === "implicit");
      if (!bothDirs) throw new UnsafeArchiveError(`member "${show(rawName)}" appears twice in the archive`);
      existing.kind = "dir";
    } else {
      node.children!.set(last, kind === "dir" ? { kind, children: new Map() } : { kind });
    }
    this.members++;
    return name;
  }

  private lookup(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const c of path.split("/")) {
      node = node?.children?.get(c);
      if (!node) return undefined;
    }
    return node;
  }
}
