import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { BACKEND_NAMES, CorralError, formatBytes, parseBackend, type ImageChunk, type ImageHeader, type ImageInfo } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { UsageError, asUsage } from "../usage-error.js";

export const name = "image import";
export const synopsis = "Upload an image tarball to hosts (all hosts with the backend, or --host)";
export const help = `Usage: corral image import FILE.tar[.gz] --name NAME [--backend docker] [--host HOST]... [--json]

Streams the file through the controller to each chosen host (every ready host with the
backend when no --host is given) and prints one line per host. Nothing can be pulled from
a registry here: this is how images reach the hosts.`;
export const examples = [
  "corral image import app.tar --name app:1",
  "corral image import app.tar.gz --name app:1 --host host2",
];
export const flags: FlagSpec[] = [
  { name: "name", kind: "string", value: "NAME", help: "image name to import as, such as app:1 (required)" },
  { name: "backend", kind: "string", value: "NAME", help: "backend that stores the image (default docker)", complete: BACKEND_NAMES },
  { name: "host", kind: "list", value: "HOST", help: "import on this host", complete: "hosts" },
];

export const CHUNK_BYTES = 1024 * 1024;

export async function run(ctx: Context): Promise<void> {
  const file = ctx.args.positional(0, "image file (corral image import FILE.tar --name NAME)");
  ctx.args.noMorePositionals(1);
  const imageName = ctx.args.string("name");
  if (!imageName) throw new UsageError("missing --name NAME for the image");
  const backend = asUsage(() => parseBackend(ctx.args.string("backend") ?? "docker"));
  const hosts = ctx.args.list("host");
  const images = await uploadImage(ctx, file, { name: imageName, backend, sizeBytes: 0, hosts });
  if (ctx.json) return ctx.printJson(images);
  if (!images.length) ctx.print(`${basename(file)}: imported on no host`);
  for (const i of images) ctx.print(importedLine(i));
}

export const importedLine = (i: ImageInfo): string => `${i.host}: imported ${i.name} (${i.backend}, ${formatBytes(i.sizeBytes)})${i.id ? ` ${i.id}` : ""}`;

/** Streams `file` through the controller to the hosts `header` names (all with its backend when none). */
export async function uploadImage(ctx: Context, file: string, header: ImageHeader): Promise<ImageInfo[]> {
  const fh = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    throw new CorralError(err.code === "ENOENT" ? "not_found" : "failed_precondition", `cannot read ${file}: ${err.code ?? err.message}`, { cause: err });
  });
  try {
    const { size } = await fh.stat();
    const conn = ctx.connection();
    const client = await conn.controller();
    const upload = client.importImage(chunks(fh, { ...header, sizeBytes: size }));
    return await conn.waitFor(`importing ${basename(file)} for ${header.backend} (${formatBytes(size)})`, upload);
  } finally {
    await fh.close();
  }
}

async function* chunks(fh: FileHandle, header: ImageHeader): AsyncGenerator<ImageChunk> {
  yield { kind: "header", header };
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, null);
    if (bytesRead === 0) return;
    yield { kind: "data", data: buf.subarray(0, bytesRead) };
  }
}
