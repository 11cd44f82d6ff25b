// Rootfs tarball → Docker image, through POST /images/create?fromSrc=- (dockerode's importImage).
// dockerd decompresses gzip/zstd itself; we sniff the first bytes only to reject what is not a
// tarball with a clear message instead of dockerd's.
import type { Readable } from "node:stream";
import { invalidArgument } from "@corral/wire";
import type Docker from "dockerode";
import { StreamHead } from "../stream-head.js";

export type TarballKind = "tar" | "gzip" | "zstd";

/** Reads the head of `input` to classify it; returns a stream that still yields every byte. */
export async function sniffTarball(input: Readable): Promise<{ kind: TarballKind; stream: Readable }> {
  const head = new StreamHead(input);
  const first = await head.fill(512);
  let kind: TarballKind;
  if (first[0] === 0x1f && first[1] === 0x8b) kind = "gzip";
  else if (first.length >= 4 && first.readUInt32LE(0) === 0xfd2fb528) kind = "zstd";
  else if (first.length >= 262 && first.subarray(257, 262).toString("latin1") === "ustar") kind = "tar";
  else {
    await head.close();
    throw invalidArgument("image tarball is neither a tar nor a gzip/zstd-compressed tar");
  }
  return { kind, stream: head.rest() };
}

/** "name", "name:tag", "registry:5000/name:tag" → repo and tag (default "latest"). */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/** Imports and returns the new image's id. The daemon reports failures inside a 200 response body. */
export async function importRootfs(
  docker: Docker,
  tarball: Readable,
  ref: { repo: string; tag: string },
  changes: string[],
): Promise<string> {
  // A failing source must fail the request too, or dockerd would wait for the rest of the body.
  const abort = new AbortController();
  let sourceError: unknown;
  const onError = (err: unknown): void => {
    sourceError = err;
    abort.abort();
  };
  tarball.once("error", onError);
  try {
    const res = await docker.importImage(tarball, {
      repo: ref.repo,
      tag: ref.tag,
      ...(changes.length ? { changes } : {}),
      abortSignal: abort.signal,
    });
    let body = "";
    for await (const chunk of res as AsyncIterable<Buffer | string>) body += chunk.toString();
    let id = "";
    for (const line of body.split("\n")) {
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { status?: string; error?: string; errorDetail?: { message?: string } };
      if (msg.error || msg.errorDetail) throw new Error(msg.errorDetail?.message ?? msg.error);
      if (msg.status?.startsWith("sha256:")) id = msg.status.trim();
    }
    if (!id) throw new Error(`dockerd returned no image id (${body.slice(0, 200).trim()})`);
    return id;
  } catch (err) {
    throw sourceError ?? err;
  } finally {
    tarball.off("error", onError);
  }
}
