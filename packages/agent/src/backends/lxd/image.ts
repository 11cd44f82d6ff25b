// Image import: LXD's split image format (a metadata tarball plus the rootfs tarball, as
// multipart/form-data), so a user's rootfs .tar/.tar.gz goes to LXD as-is, never re-packed.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";

/** A one-file ustar archive, enough for metadata.yaml. */
export function singleFileTar(name: string, content: Buffer, mtimeSec: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, len: number) => header.write(text, offset, len, "ascii");
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(mtimeSec, 12), 136, 12);
  put("        ", 148, 8); // checksum is computed with this field as spaces
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of header) sum += b;
  put(octal(sum, 7) + " ", 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

export function metadataTar(architecture: string, description: string): Buffer {
  // A fixed creation date keeps the fingerprint a function of the rootfs alone.
  const yaml = [
    `architecture: ${architecture}`,
    "creation_date: 1700000000",
    "properties:",
    `  description: ${JSON.stringify(description)}`,
    "  os: corral",
    "",
  ].join("\n");
  return singleFileTar("metadata.yaml", Buffer.from(yaml), 0);
}

/**
 * The multipart body LXD expects for a split image, and the fingerprint LXD will compute for it
 * (sha256 over the metadata tarball then the rootfs), known once the body has been sent.
 */
export function splitImageBody(meta: Buffer, rootfs: Readable): {
  body: Readable;
  contentType: string;
  fingerprint: Promise<string>;
  bytes: () => number;
} {
  const boundary = `corral-${randomBytes(12).toString("hex")}`;
  const hash = createHash("sha256").update(meta);
  const body = new PassThrough();
  let rootfsBytes = 0;
  const part = (field: string, filename: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
    "Content-Type: application/octet-stream\r\n\r\n";
  const fingerprint = (async () => {
    body.write(part("metadata", "metadata.tar"));
    body.write(meta);
    body.write(`\r\n${part("rootfs", "rootfs.tar")}`);
    for await (const chunk of rootfs) {
      const buf = chunk as Buffer;
      hash.update(buf);
      rootfsBytes += buf.length;
      if (!body.write(buf)) await once(body, "drain");
    }
    body.end(`\r\n--${boundary}--\r\n`);
    return hash.digest("hex");
  })();
  fingerprint.catch((err: unknown) => body.destroy(err instanceof Error ? err : new Error(String(err))));
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, fingerprint, bytes: () => rootfsBytes };
}
