// Target side of a migration: a one-use token announced by the controller, the archive streamed in
// by the source agent into a staging directory, then commit (rename into place) or abort.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Logger } from "pino";
import { isCode, messageOf, alreadyExists, CorralError, failedPrecondition, invalidArgument, permissionDenied, type AbortReceiveResult, type ArchiveChunk, type ContainerRef, type ContainerStatus, type PrepareReceive, type TransferTrailer } from "@corral/wire";
import type { BackendRegistry } from "../backends/registry.js";
import { decompress } from "./compression.js";

type Phase = "prepared" | "receiving" | "received" | "committed" | "aborted";

interface Receive {
  token: string;
  ref: ContainerRef;
  compression: PrepareReceive["compression"];
  phase: Phase;
  stagingDir: string;
  preparedAt: number;
}

const TOKEN_RE = /^[0-9a-f]{32,128}$/;
const PREPARED_TTL_MS = 10 * 60_000;
const MARKER_TTL_MS = 24 * 3600_000;

const denied = () => new CorralError("permission_denied", "unknown, expired or already used transfer token");

export class ReceiveManager {
  private readonly receives = new Map<string, Receive>();

  constructor(
    private readonly registry: BackendRegistry,
    private readonly markerDir: string,
    private readonly log: Logger,
  ) {}

  /** Staging left by a receive that was cut off (agent killed mid-transfer) is garbage: remove it all. */
  async cleanupStaging(): Promise<void> {
    for (const b of this.registry.available()) {
      const root = b.stagingRoot();
      for (const e of await readdir(root).catch(() => [] as string[])) {
        await rm(join(root, e), { recursive: true, force: true });
        this.log.info({ backend: b.name, staging: e }, "removed stale staging");
      }
      await mkdir(root, { recursive: true });
    }
    await mkdir(this.markerDir, { recursive: true });
    // Markers only matter while the controller may still roll a migration back.
    for (const e of await readdir(this.markerDir)) {
      const p = join(this.markerDir, e);
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > MARKER_TTL_MS) await unlink(p).catch(() => undefined);
    }
  }

  async prepare(p: PrepareReceive): Promise<void> {
    if (!TOKEN_RE.test(p.token)) throw invalidArgument("malformed transfer token");
    if (this.receives.has(p.token)) throw failedPrecondition("transfer token already announced");
    const backend = this.registry.get(p.ref.backend);
    const exists = await backend.inspect(p.ref.name).then(
      () => true,
      (e: unknown) => (isCode(e, "not_found") ? false : Promise.reject(e)),
    );
    if (exists) throw alreadyExists(`container "${p.ref.name}" already exists on the target host`);
    for (const [t, r] of this.receives) if (r.phase === "prepared" && Date.now() - r.preparedAt > PREPARED_TTL_MS) this.receives.delete(t);
    this.receives.set(p.token, {
      token: p.token,
      ref: p.ref,
      compression: p.compression,
      phase: "prepared",
      stagingDir: join(backend.stagingRoot(), p.token),
      preparedAt: Date.now(),
    });
  }

  /** `peerHost`: the verified host identity of the sender (its certificate), when the call came over mutual TLS. */
  async receive(chunks: AsyncIterable<ArchiveChunk>, peerHost?: string): Promise<TransferTrailer> {
    const it = chunks[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done || first.value.kind !== "header") throw invalidArgument("archive stream must start with a header");
    const header = first.value.header;
    // MERGE: untrusted compares peerHost with the source host bound at prepare; until then, the header's claim.
    if (peerHost !== undefined && header.sourceHost !== peerHost) {
      throw permissionDenied(`archive sent by host ${peerHost} claims to come from host ${header.sourceHost}`);
    }
    const r = this.receives.get(header.token);
    if (!r || r.phase !== "prepared") throw denied();
    if (r.ref.name !== header.ref.name || r.ref.backend !== header.ref.backend) throw denied();
    r.phase = "receiving";
    const backend = this.registry.get(r.ref.backend);
    await mkdir(r.stagingDir, { recursive: true });
    const pt = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    const plain = decompress(pt, header.compression);
    const stage = backend.stageRestore(r.ref.name, header.archiveFormat, plain.stream, r.stagingDir);
    // Never leave the stage promise unobserved while we are still feeding it.
    const stageSettled = stage.then(
      () => undefined,
      (e: unknown) => e,
    );
    const hash = createHash("sha256");
    let bytes = 0;
    let trailer: TransferTrailer | undefined;
    try {
      for (let c = await it.next(); !c.done; c = await it.next()) {
        const chunk = c.value;
        if (chunk.kind === "trailer") {
          trailer = chunk.trailer;
          break;
        }
        if (chunk.kind !== "data") throw invalidArgument("unexpected second header in archive stream");
        hash.update(chunk.data);
        bytes += chunk.data.length;
        if (!pt.write(chunk.data)) {
          const failed = await Promise.race([once(pt, "drain").then(() => undefined), stageSettled]);
          if (failed) throw failed;
        }
      }
      if (!trailer) throw new CorralError("aborted", `archive stream ended early after ${bytes} bytes (source went away?)`);
      pt.end();
      await stage;
      await plain.finished;
      const sha256 = hash.digest("hex");
      if (trailer.sha256 !== sha256 || trailer.bytes !== bytes) {
        throw new CorralError(
          "aborted",
          `archive checksum mismatch: source sent ${trailer.bytes} bytes sha256 ${trailer.sha256}, received ${bytes} bytes sha256 ${sha256}`,
        );
      }
      r.phase = "received";
      this.log.info({ token: r.token.slice(0, 8), ct: r.ref.name, bytes }, "archive received and verified");
      return { sha256, bytes };
    } catch (err) {
      pt.destroy();
      await stageSettled;
      await rm(r.stagingDir, { recursive: true, force: true });
      r.phase = "aborted";
      this.log.warn({ token: r.token.slice(0, 8), ct: r.ref.name, err: messageOf(err) }, "receive failed; staging removed");
      throw err;
    }
  }

  async commit(token: string): Promise<ContainerStatus> {
    const r = this.receives.get(token);
    if (!r || r.phase !== "received") throw failedPrecondition("no verified archive for this transfer token");
    const backend = this.registry.get(r.ref.backend);
    const st = await backend.commitRestore(r.ref.name, r.stagingDir);
    r.phase = "committed";
    // Remember across a restart that this container came from this token, so an abort can remove it.
    await writeFile(this.marker(token), JSON.stringify(r.ref));
    await rm(r.stagingDir, { recursive: true, force: true });
    return st;
  }

  async abort(token: string, ref: ContainerRef | undefined): Promise<AbortReceiveResult> {
    if (!TOKEN_RE.test(token)) throw invalidArgument("malformed transfer token");
    const r = this.receives.get(token);
    let removedStaging = false;
    let removedContainer = false;
    if (r && existsSync(r.stagingDir)) {
      await rm(r.stagingDir, { recursive: true, force: true });
      removedStaging = true;
    }
    const committed = r?.phase === "committed" || existsSync(this.marker(token));
    if (committed && ref) {
      const backend = this.registry.get(ref.backend);
      const st = await backend.inspect(ref.name).catch(() => undefined);
      if (st) {
        if (st.state === "running") await backend.stop(ref.name, 10);
        await backend.destroy(ref.name);
        removedContainer = true;
      }
    }
    await unlink(this.marker(token)).catch(() => undefined);
    if (r) r.phase = "aborted";
    this.receives.delete(token);
    return { removedStaging, removedContainer };
  }

  private marker(token: string): string {
    return join(this.markerDir, `${token}.json`);
  }
}
