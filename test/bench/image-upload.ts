// `corral image import` through the controller API: header first, then the tarball in 1 MiB chunks.
import { createReadStream, statSync } from "node:fs";
import type { BackendName, ImageChunk, ImageInfo } from "@corral/wire";
import type { BenchContext } from "./bench-context.js";

export async function importImage(ctx: BenchContext, file: string, name: string, backend: BackendName, hosts: string[]): Promise<ImageInfo[]> {
  async function* chunks(): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header: { name, backend, sizeBytes: statSync(file).size, hosts } };
    for await (const data of createReadStream(file, { highWaterMark: 1 << 20 })) yield { kind: "data", data: data as Buffer };
  }
  return ctx.client.importImage(chunks());
}
