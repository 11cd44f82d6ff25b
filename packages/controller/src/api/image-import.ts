// Image import: buffer the uploaded tarball to a temp file (the upload arrives once, hosts may
// read it at different speeds), then send it to every chosen host.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
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

export async function importImage(ctx: ControllerContext, chunks: AsyncIterable<ImageChunk>): Promise<ImageInfo[]> {
  const dir = await mkdtemp(join(tmpdir(), "corral-image-"));
  try {
    const file = join(dir, "image.tar");
    const header = await receiveToFile(chunks, file);
    const sizeBytes = (await stat(file)).size;
    const hosts = chooseHosts(ctx, header);
    ctx.log.info({ image: header.name, backend: header.backend, sizeBytes, hosts: hosts.map((h) => h.name) }, "importing image");
    const results = await Promise.allSettled(hosts.map((h) => sendTo(ctx, h, { ...header, sizeBytes, hosts: [] }, file)));
    return collect(header, hosts, results);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function receiveToFile(chunks: AsyncIterable<ImageChunk>, file: string): Promise<ImageHeader> {
  const { header, rest } = await splitHeader<ImageHeader, ImageChunk>(chunks, "image upload");
  const out = createWriteStream(file);
  try {
    for await (const data of dataOf(rest)) if (!out.write(data)) await once(out, "drain");
  } finally {
    out.end();
    await once(out, "close");
  }
  if (!header.name) throw invalidArgument("image upload has no image name");
  return header;
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

async function sendTo(ctx: ControllerContext, host: Host, header: ImageHeader, file: string): Promise<ImageInfo> {
  async function* chunks(): AsyncGenerator<ImageChunk> {
    yield { kind: "header", header };
    for await (const data of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      yield { kind: "data", data: data as Buffer };
    }
  }
  const info = await ctx.agents.of(host).importImage(chunks());
  return { ...info, host: info.host || host.name };
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
