// Image import: keep the uploaded tarball (image-store.ts: the upload arrives once, hosts may read it
// at different speeds, and a host that lacks it later gets it from there), then send it to every
// chosen host with its SHA-256.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import {
  CorralError,
  dataOf,
  splitHeader,
  failedPrecondition,
  invalidArgument,
  notFound,
  unavailable,
  type Host,
  type ImageChunk,
  type ImageHeader,
  type ImageInfo,
} from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { listHosts } from "../store/hosts.js";
import { keepImage, sendKeptImage } from "./image-store.js";

export async function importImage(ctx: ControllerContext, chunks: AsyncIterable<ImageChunk>): Promise<ImageInfo[]> {
  await mkdir(ctx.imageDir, { recursive: true, mode: 0o700 });
  const file = join(ctx.imageDir, `.upload-${randomUUID()}`);
  try {
    const { header, sha256, sizeBytes } = await receiveToFile(chunks, file);
    const hosts = chooseHosts(ctx, header);
    const image = { name: header.name, backend: header.backend, sha256, sizeBytes };
    await keepImage(ctx, file, image);
    ctx.log.info({ image: header.name, backend: header.backend, sizeBytes, sha256, hosts: hosts.map((h) => h.name) }, "importing image");
    const results = await Promise.allSettled(hosts.map((h) => sendKeptImage(ctx, h, image)));
    return collect(header, hosts, results);
  } finally {
    await rm(file, { force: true });
  }
}

async function receiveToFile(chunks: AsyncIterable<ImageChunk>, file: string): Promise<{ header: ImageHeader; sha256: string; sizeBytes: number }> {
  const { header, rest } = await splitHeader<ImageHeader, ImageChunk>(chunks, "image upload");
  const out = createWriteStream(file, { mode: 0o600 });
  const hash = createHash("sha256");
  let sizeBytes = 0;
  try {
    for await (const data of dataOf(rest)) {
      hash.update(data);
      sizeBytes += data.length;
      if (!out.write(data)) await once(out, "drain");
    }
  } finally {
    out.end();
    await once(out, "close");
  }
  if (!header.name) throw invalidArgument("image upload has no image name");
  return { header, sha256: hash.digest("hex"), sizeBytes };
}

function chooseHosts(ctx: ControllerContext, header: ImageHeader): Host[] {
  const all = listHosts(ctx.store.db);
  const hasBackend = (h: Host) => h.backends.some((b) => b.name === header.backend && b.available);
  if (header.hosts.length === 0) {
    const chosen = all.filter((h) => h.state !== "down" && hasBackend(h));
    if (chosen.length === 0) throw failedPrecondition(`no host that is up has backend ${header.backend} available`);
    return chosen;
  }
  return header.hosts.map((name) => {
    const h = all.find((x) => x.name === name);
    if (!h) throw notFound(`host "${name}" not found (known: ${all.map((x) => x.name).join(", ") || "none"})`);
    if (h.state === "down") throw unavailable(`host ${name} is down`);
    if (!hasBackend(h)) throw failedPrecondition(`host ${name}: backend ${header.backend} not available`);
    return h;
  });
}

function collect(header: ImageHeader, hosts: Host[], results: PromiseSettledResult<ImageInfo>[]): ImageInfo[] {
  const failures = results.flatMap((r, i) =>
    r.status === "rejected" ? [`${hosts[i]?.name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [],
  );
  if (failures.length > 0) {
    const ok = results.flatMap((r, i) => (r.status === "fulfilled" ? [hosts[i]?.name] : []));
    const done = ok.length ? `; imported on ${ok.join(", ")}` : "";
    const first = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    const code = first.reason instanceof CorralError ? first.reason.code : "internal";
    throw new CorralError(code, `importing image ${header.name} failed on ${failures.join("; ")}${done}`);
  }
  return results.map((r) => (r as PromiseFulfilledResult<ImageInfo>).value);
}
