// Images the controller keeps, so that a host that lacks one gets it on first use (DESIGN.md,
// "Images"): every imported or built image is stored here by the SHA-256 of its bytes, and its
// name and backend are recorded in SQLite. A create on a host without the image first sends it
// from here, with its SHA-256, which the agent checks before keeping it.
import { createReadStream, existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { messageOf, type ContainerSpec, type Host, type ImageChunk, type ImageHeader, type ImageInfo } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { deleteStoredImages, getStoredImage, listStoredImages, putStoredImage, storedBytesInUse, type StoredImage } from "../store/images.js";

const fileOf = (ctx: ControllerContext, sha256: string): string => join(ctx.imageDir, `${sha256}.tar`);

/** Keeps `file` (whose bytes hash to `sha256`) as image `name` for `backend`; the file is moved. */
export async function keepImage(ctx: ControllerContext, file: string, image: StoredImage): Promise<void> {
  const kept = fileOf(ctx, image.sha256);
  if (existsSync(kept)) await rm(file, { force: true });
  else await rename(file, kept);
  const before = getStoredImage(ctx.store.db, image.name, image.backend);
  ctx.store.tx(() => putStoredImage(ctx.store.db, image));
  if (before && before.sha256 !== image.sha256) await dropUnused(ctx, before.sha256);
}

/** Streams a kept image to a host's agent, with its SHA-256 for the agent to check. */
export async function sendKeptImage(ctx: ControllerContext, host: Pick<Host, "name" | "address">, image: StoredImage, header: Partial<ImageHeader> = {}): Promise<ImageInfo> {
  const file = fileOf(ctx, image.sha256);
  async function* chunks(): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header: { name: image.name, backend: image.backend, sizeBytes: image.sizeBytes, hosts: [], sha256: image.sha256, ...header } };
    for await (const data of createReadStream(file, { highWaterMark: 1024 * 1024 })) yield { kind: "data", data: data as Buffer };
  }
  const info = await ctx.agents.of(host).importImage(chunks());
  return { ...info, host: info.host || host.name };
}

/**
 * Before a container from an image is made on `host`: when the controller keeps that image and the
 * host does not hold it, the host gets it now (fetch on first use). An image the controller does
 * not keep is left to the agent, which says it is missing.
 */
export async function ensureImageOn(ctx: ControllerContext, hostName: string, spec: ContainerSpec): Promise<void> {
  if (!spec.image) return;
  const image = getStoredImage(ctx.store.db, spec.image, spec.backend);
  const host = getHost(ctx.store.db, hostName);
  if (!image || !host || !existsSync(fileOf(ctx, image.sha256))) return;
  const held = await ctx.agents.of(host).listImages();
  if (held.some((i) => i.name === image.name && i.backend === image.backend)) return;
  ctx.log.info({ image: image.name, backend: image.backend, host: host.name, sizeBytes: image.sizeBytes }, "sending image on first use");
  await sendKeptImage(ctx, host, image);
}

/** Forgets image `name` (every backend) and removes bytes no other name shares. */
export async function forgetImage(ctx: ControllerContext, name: string): Promise<StoredImage[]> {
  const kept = listStoredImages(ctx.store.db, name);
  ctx.store.tx(() => deleteStoredImages(ctx.store.db, name));
  for (const i of kept) await dropUnused(ctx, i.sha256);
  return kept;
}

async function dropUnused(ctx: ControllerContext, sha256: string): Promise<void> {
  if (storedBytesInUse(ctx.store.db, sha256)) return;
  await rm(fileOf(ctx, sha256), { force: true }).catch((err: unknown) => ctx.log.warn({ sha256, err: messageOf(err) }, "cannot remove a kept image"));
}
