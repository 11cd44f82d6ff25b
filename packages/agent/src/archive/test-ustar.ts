// Test support: build tar archives by hand, including hostile ones GNU tar would refuse to make.

export interface TarEntry {
  name: string;
  /** Typeflag, "0" by default; "x", "L", "K", "g" make extended headers whose data is `data`. */
  type?: string;
  link?: string;
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Overrides the size field (the data written stays `data`). */
  size?: number;
  /** POSIX prefix field (ustar only). */
  prefix?: string;
  /** "ustar" (POSIX, default), "gnu" (old GNU magic) or "v7" (no magic). */
  format?: "ustar" | "gnu" | "v7";
  /** pax records to put in an "x" header in front of this entry. */
  pax?: Record<string, string>;
  /** Last touch on the 512-byte header before its checksum is computed. */
  patch?: (h: Buffer) => void;
  /** Skip the checksum (leave it wrong). */
  badChecksum?: boolean;
}

/** pax extended header records: "LEN key=value\n", LEN counting the whole record. */
export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    parts.push(Buffer.from(`${len}${body}`));
  }
  return Buffer.concat(parts);
}

function header(e: TarEntry, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, "latin1");
  h.write((e.mode ?? 0o644).toString(8).padStart(7, "0") + "\0", 100);
  h.write((e.uid ?? 0).toString(8).padStart(7, "0") + "\0", 108);
  h.write((e.gid ?? 0).toString(8).padStart(7, "0") + "\0", 116);
  h.write((e.size ?? data.length).toString(8).padStart(11, "0") + "\0", 124);
  h.write("00000000000\0", 136);
  h.write(e.type ?? "0", 156, 1, "latin1");
  h.write(e.link ?? "", 157, 100, "latin1");
  const format = e.format ?? "ustar";
  if (format === "ustar") {
    h.write("ustar\0", 257);
    h.write("00", 263);
  } else if (format === "gnu") h.write("ustar  \0", 257, "latin1");
  if (e.prefix) h.write(e.prefix, 345, 155, "latin1");
  e.patch?.(h);
  h.fill(32, 148, 156);
  if (!e.badChecksum) {
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  }
  return h;
}

/** Blocks for the entries, without the end-of-archive marker. */
export function tarBlocks(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) blocks.push(tarBlocks([{ name: `PaxHeader/${e.name}`.slice(0, 99), type: "x", data: paxRecords(e.pax) }]));
    const data = typeof e.data === "string" ? Buffer.from(e.data, "latin1") : (e.data ?? Buffer.alloc(0));
    blocks.push(header(e, data), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat(blocks);
}

/** A whole archive: the entries' blocks, then two zero blocks. */
export function ustar(entries: TarEntry[]): Buffer {
  return Buffer.concat([tarBlocks(entries), Buffer.alloc(1024)]);
}
