// Target side of a migration: a one-use token announced by the controller, the archive streamed in
// by the source agent into a staging directory, then commit (rename into place) or abort.
// Nothing the source sends is trusted (DESIGN.md, "Security"): the token is bound at prepare to the
// migration, the container and both hosts; the stream must match that binding, use the compression
// agreed at prepare, and stay under the announced size. Only the token's SHA-256 is kept.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Writable } from "node:stream";
import type { Logger } from "pino";
import {
  alreadyExists,
  CorralError,
  failedPrecondition,
  formatBytes,
  invalidArgument,
  isCode,
  messageOf,
  splitHeader,
  type AbortReceiveResult,
  type ArchiveChunk,
  type ContainerRef,
  type ContainerStatus,
  type PrepareReceive,
  type RestoreGrants,
  NO_GRANTS,
  type TransferHeader,
  type TransferTrailer,
} from "@corral/wire";
import type { BackendRegistry } from "../backends/registry.js";
import { assertArchiveFormat } from "../backends/backend.js";
import { decompress } from "./compression.js";
import { ByteCap, freeBytes } from "../archive/byte-cap.js";
import { checkPrepare, checkRef, checkToken } from "../server/request-checks.js";
import { hasPreCopy } from "../backends/backend.js";
import { receiveTree } from "./tree-sync.js";
import type { Duplex } from "node:stream";

type Phase = "prepared" | "receiving" | "received" | "committed" | "aborted";

interface Receive {
  /** sha256 of the token, hex: the only form of the token this agent keeps. */
  id: string;
  migrationId: string;
  ref: ContainerRef;
  /** The backend the source sends from: ref's, or another one when the move converts. */
  sourceBackend: ContainerRef["backend"];
  sourceHost: string;
  compression: PrepareReceive["compression"];
  expectedBytes: number;
  /** What the controller's spec grants; the archive may not take more. */
  grants: RestoreGrants;
  phase: Phase;
  stagingDir: string;
  /** Last sign of life (prepare, each chunk, end of receive): staging expires from here. */
  touchedAt: number;
  /** Cuts a receive whose stream stalled past the expiry. */
  cancel: AbortController;
  /** A pre-copy pass completed: the archive that follows is the rest, restored with the synced tree. */
  synced: boolean;
  /** The pre-copy pass under way, if one is: settles once `synced` says how it ended. */
  syncing?: { kill(): void; settled: Promise<void> };
}

/** What a committed receive leaves behind so that an abort can find its container after a restart. */
interface Marker {
  migrationId: string;
  ref: ContainerRef;
}

export interface ReceiveOptions {
  /** This host's name: a token prepared for another target is refused. */
  hostName: string;
  /** Uncommitted staging (prepared or received) is removed after this long without activity. */
  stagingTtlMs?: number;
  /** Free space kept back on the staging filesystem when the size is not announced. */
  reserveBytes?: number;
}

const DEFAULT_STAGING_TTL_MS = 10 * 60_000;
const MARKER_TTL_MS = 24 * 3600_000;
const DEFAULT_RESERVE = 256 * 1024 * 1024;
/** Announced sizes are estimates (du before tar): allow tar's own headers (many small files) and drift. */
const SLACK_FACTOR = 1.5;
const SLACK_BYTES = 64 * 1024 * 1024;
/** A receive that failed with less than this free for staging failed because the disk filled. */
const FULL_BELOW = 4 * 1024 * 1024;

const denied = (why = "unknown, expired or already used transfer token") => new CorralError("permission_denied", why);
const tokenHash = (token: string): string => createHash("sha256").update(token).digest("hex");
const sameRef = (a: ContainerRef, b: ContainerRef): boolean => a.name === b.name && a.backend === b.backend;

/** Where a migration's pre-copy passes land: beside its staging directory, which the rest archive needs empty. */
const treeOf = (r: Receive): string => `${r.stagingDir}.tree`;

/**
 * Removes everything a receive keeps on disk until commit: its staging, its synced tree, the
 * passes' rsyncd.conf. A pass still writing the tree would race the removal: it is ended first.
 */
async function dropStaging(r: Receive): Promise<void> {
  if (r.syncing) {
    r.syncing.kill();
    await r.syncing.settled;
  }
  for (const p of [r.stagingDir, treeOf(r), `${r.stagingDir}.rsyncd.conf`]) await rm(p, { recursive: true, force: true });
}

/**
 * `p`, or the signal's reason once it aborts. Unlike a Promise.race against one promise kept for
 * the whole receive, it leaves nothing behind per call: such a race, once per chunk, kept a
 * reaction per chunk alive on that promise, and the garbage collector marked the heap every
 * 150 ms of a transfer.
 */
function unlessAborted<T>(signal: AbortSignal, p: Promise<T>, reason: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(reason());
    signal.addEventListener("abort", abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(e as Error);
      },
    );
  });
}

/** Whether a writable drained (true) or closed first, destroyed by its reader's failure (false). */
function drained(w: Writable): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      w.off("drain", onDrain);
      w.off("close", onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    w.on("drain", onDrain);
    w.on("close", onClose);
  });
}

export class ReceiveManager {
  private readonly receives = new Map<string, Receive>();
  private readonly ttlMs: number;
  private readonly reserve: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly registry: BackendRegistry,
    private readonly markerDir: string,
    private readonly log: Logger,
    private readonly opts: ReceiveOptions,
  ) {
    this.ttlMs = opts.stagingTtlMs ?? DEFAULT_STAGING_TTL_MS;
    this.reserve = opts.reserveBytes ?? DEFAULT_RESERVE;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(this.ttlMs / 4, 60_000)));
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Staging left by a receive that was cut off (agent killed mid-transfer) is garbage: remove it all. */
  async cleanupStaging(): Promise<void> {
    for (const b of this.registry.available()) {
      const root = b.stagingRoot();
      for (const e of await readdir(root).catch(() => [] as string[])) {
        await rm(join(root, e), { recursive: true, force: true });
        this.log.info({ backend: b.name, staging: e }, "removed stale staging");
      }
      // Owner only: staged files keep their owners and modes (setuid included) until commit.
      await mkdir(root, { recursive: true, mode: 0o700 });
      await chmod(root, 0o700);
    }
    await mkdir(this.markerDir, { recursive: true, mode: 0o700 });
    // Markers only matter while the controller may still roll a migration back.
    for (const e of await readdir(this.markerDir)) {
      const p = join(this.markerDir, e);
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > MARKER_TTL_MS) await unlink(p).catch(() => undefined);
    }
  }

  async prepare(p: PrepareReceive): Promise<void> {
    checkPrepare(p);
    if (p.targetHost !== this.opts.hostName) {
      throw failedPrecondition(`transfer prepared for host "${p.targetHost}" reached host "${this.opts.hostName}"`);
    }
    const id = tokenHash(p.token);
    if (this.receives.has(id) || existsSync(this.marker(id))) throw failedPrecondition("transfer token already announced");
    for (const r of this.receives.values()) {
      if (r.migrationId === p.migrationId && r.phase !== "aborted") throw failedPrecondition(`migration ${p.migrationId} already has a transfer here`);
    }
    const backend = this.registry.get(p.ref.backend);
    const exists = await backend.inspect(p.ref.name).then(
      () => true,
      (e: unknown) => (isCode(e, "not_found") ? false : Promise.reject(e)),
    );
    if (exists) throw alreadyExists(`container "${p.ref.name}" already exists on the target host`);
    const root = backend.stagingRoot();
    await mkdir(root, { recursive: true, mode: 0o700 });
    const free = await freeBytes(root);
    if (p.expectedBytes > 0 && p.expectedBytes > free - this.reserve) {
      throw new CorralError(
        "resource_exhausted",
        `archive of ${formatBytes(p.expectedBytes)} does not fit: ${formatBytes(Math.max(0, free - this.reserve))} free for staging on ${this.opts.hostName}`,
      );
    }
    this.receives.set(id, {
      id,
      migrationId: p.migrationId,
      ref: p.ref,
      sourceBackend: p.sourceBackend ?? p.ref.backend,
      sourceHost: p.sourceHost,
      compression: p.compression,
      expectedBytes: p.expectedBytes,
      grants: p.grants ?? NO_GRANTS,
      phase: "prepared",
      // Named by the migration, never by the token.
      stagingDir: join(root, p.migrationId),
      touchedAt: Date.now(),
      cancel: new AbortController(),
      synced: false,
    });
  }

  /**
   * One pre-copy pass (tree-sync.ts): the header is checked as an archive's is (token bound to the
   * migration, container and both hosts), then rsync's daemon receives into the pass's tree, beside
   * the staging directory. The token stays unspent: the archive of the rest spends it.
   */
  async syncTree(header: TransferHeader, peerHost: string, sock: Duplex, onAdmitted: () => void): Promise<void> {
    const r = this.admit(header, peerHost);
    // The source's rsync may finish its pass a moment before the daemon here has: the next pass
    // waits for it. Two at once are refused.
    await r.syncing?.settled;
    if (r.phase !== "prepared") throw denied();
    if (r.syncing) throw failedPrecondition(`migration ${r.migrationId} already has a pre-copy pass under way`);
    if (!hasPreCopy(this.registry.get(r.ref.backend))) throw failedPrecondition(`the ${r.ref.backend} backend on ${this.opts.hostName} has no pre-copy`);
    r.touchedAt = Date.now();
    // Until this pass succeeds the tree is not one the archive may be restored around.
    r.synced = false;
    const t0 = performance.now();
    // Under way from here, before the answer: the final pass's archive follows the admission, and
    // must find the pass it is restored around (receive()).
    let kill = () => undefined as unknown;
    let killed = false;
    const settled = (async () => {
      try {
        await mkdir(this.registry.get(r.ref.backend).stagingRoot(), { recursive: true, mode: 0o700 });
        if (killed) throw new CorralError("aborted", "pre-copy pass ended before it started");
        const sync = await receiveTree(sock, treeOf(r), `${r.stagingDir}.rsyncd.conf`);
        kill = sync.kill;
        if (killed) sync.kill();
        await sync.done;
        r.synced = true;
        this.log.info({ migration: r.migrationId, ct: r.ref.name, ms: Math.round(performance.now() - t0) }, "pre-copy pass received");
      } finally {
        r.syncing = undefined;
        r.touchedAt = Date.now();
      }
    })();
    r.syncing = {
      kill: () => {
        killed = true;
        kill();
      },
      settled: settled.catch(() => undefined),
    };
    onAdmitted();
    await settled;
  }

  /** What an archive for `backend` may take on its staging filesystem now (the reserve kept back). */
  async stagingFree(backend: ContainerRef["backend"]): Promise<number> {
    const root = this.registry.get(backend).stagingRoot();
    await mkdir(root, { recursive: true, mode: 0o700 });
    return this.freeForStaging(root);
  }

  /** Free bytes on the filesystem of `root` less the reserve this host keeps back. */
  private async freeForStaging(root: string): Promise<number> {
    return Math.max(0, (await freeBytes(root)) - this.reserve);
  }

  /** Finds the prepared receive that `header` belongs to, or says why the stream is refused. */
  private admit(header: TransferHeader, peerHost: string | undefined): Receive {
    if (typeof header.token !== "string" || !/^[0-9a-f]{64}$/.test(header.token)) throw denied();
    const r = this.receives.get(tokenHash(header.token));
    if (!r || r.phase !== "prepared") throw denied();
    const sent = { name: r.ref.name, backend: r.sourceBackend };
    if (!header.ref || !sameRef(sent, header.ref)) throw denied(`transfer token is for container "${sent.name}" (${sent.backend}), not "${header.ref?.name}"`);
    if (header.sourceHost !== r.sourceHost) throw denied(`transfer token is bound to source host "${r.sourceHost}", stream says "${header.sourceHost}"`);
    if (peerHost !== undefined && peerHost !== r.sourceHost) {
      throw denied(`transfer token is bound to source host "${r.sourceHost}", the connection is from "${peerHost}"`);
    }
    if (header.compression !== r.compression) {
      throw invalidArgument(`archive stream claims compression "${header.compression}", but "${r.compression}" was agreed at prepare`);
    }
    const backend = this.registry.get(r.ref.backend);
    assertArchiveFormat(backend, header.archiveFormat);
    return r;
  }

  /**
   * `peerHost`: the authenticated host name of the caller (mTLS), when known. `onAdmitted` runs once
   * the header passed every check and staging exists (the data connection then tells the source to
   * start sending).
   */
  async receive(chunks: AsyncIterable<ArchiveChunk>, peerHost?: string, onAdmitted?: () => void): Promise<TransferTrailer> {
    const { header, rest } = await splitHeader<TransferHeader, ArchiveChunk>(chunks, "archive");
    const t0 = performance.now();
    const r = this.admit(header, peerHost);
    // A final pre-copy pass under way: this archive is the rest of the container, sent beside it.
    // It is extracted while the pass finishes, and restored around the tree once the pass succeeded.
    const pass = r.syncing;
    const treeReady = pass
      ? pass.settled.then(() => {
          if (!r.synced) throw new CorralError("aborted", "the final pre-copy pass failed; the archive has no tree to be restored around");
        })
      : Promise.resolve();
    treeReady.catch(() => undefined);
    r.phase = "receiving";
    r.touchedAt = Date.now();
    const backend = this.registry.get(r.ref.backend);
    let limit: { bytes: number; what: string };
    try {
      limit = await this.sizeLimit(r, header, backend.stagingRoot());
      await mkdir(r.stagingDir, { mode: 0o700 });
    } catch (err) {
      // The token is spent either way: a refused stream cannot be retried with it, nor its tree used.
      r.phase = "aborted";
      this.receives.delete(r.id);
      await dropStaging(r);
      throw err;
    }
    onAdmitted?.();
    const pt = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    const plain = decompress(pt, r.compression);
    const cap = new ByteCap(limit.bytes, limit.what);
    plain.stream.on("error", (e: Error) => cap.destroy(e));
    plain.stream.pipe(cap);
    // After a pre-copy pass the archive is the rest of the container, restored around the synced tree.
    const stage = (r.synced || pass) && hasPreCopy(backend)
      ? backend.stageRest(r.ref.name, header.archiveFormat, cap, r.stagingDir, treeOf(r), r.grants, treeReady)
      : backend.stageRestore(r.ref.name, header.archiveFormat, cap, r.stagingDir, r.grants);
    // Never leave a promise unobserved while we are still feeding the stage. A stage that fails
    // ends the feeding: the wait for the pipe to drain rejects with its error.
    const stageSettled = stage.then(
      () => undefined,
      (e: unknown) => e ?? new Error("staging failed"),
    );
    void stageSettled.then((e) => e && pt.destroy(e as Error));
    plain.finished.catch(() => undefined);
    const stalled = () => new CorralError("deadline_exceeded", "archive stream stalled past the staging expiry");
    const orStalled = <T>(p: Promise<T>) => unlessAborted(r.cancel.signal, p, stalled);
    const hash = createHash("sha256");
    let bytes = 0;
    let trailer: TransferTrailer | undefined;
    try {
      for (let c = await orStalled(rest.next()); !c.done; c = await orStalled(rest.next())) {
        const chunk = c.value;
        r.touchedAt = Date.now();
        if (chunk.kind === "trailer") {
          trailer = chunk.trailer;
          break;
        }
        if (chunk.kind !== "data") throw invalidArgument("unexpected message in archive stream");
        hash.update(chunk.data);
        bytes += chunk.data.length;
        if (pt.destroyed || (!pt.write(chunk.data) && !(await orStalled(drained(pt))))) throw pt.errored ?? new CorralError("aborted", "staging stopped taking the archive");
      }
      if (!trailer) throw new CorralError("aborted", `archive stream ended early after ${bytes} bytes (source went away?)`);
      pt.end();
      await orStalled(stage);
      await plain.finished;
      const sha256 = hash.digest("hex");
      if (trailer.sha256 !== sha256 || trailer.bytes !== bytes) {
        throw new CorralError(
          "aborted",
          `archive checksum mismatch: source sent ${trailer.bytes} bytes sha256 ${trailer.sha256}, received ${bytes} bytes sha256 ${sha256}`,
        );
      }
      r.phase = "received";
      r.touchedAt = Date.now();
      this.log.info({ migration: r.migrationId, ct: r.ref.name, bytes, ms: Math.round(performance.now() - t0) }, "archive received and verified");
      return { sha256, bytes };
    } catch (err) {
      pt.destroy();
      cap.destroy();
      // A decompressor blocked on a full pipe would live on: close its output.
      plain.stream.destroy();
      await stageSettled;
      // Measured before the staging goes (its removal frees the space): tar says only "Wrote only
      // 512 of 10240 bytes" when the disk fills, so the filesystem is asked.
      const free = await freeBytes(backend.stagingRoot()).catch(() => Infinity);
      await dropStaging(r);
      r.phase = "aborted";
      this.receives.delete(r.id);
      this.log.warn({ migration: r.migrationId, ct: r.ref.name, err: messageOf(err) }, "receive failed; staging removed");
      // A full staging filesystem is this host's condition, said plainly.
      if (free < FULL_BELOW || /ENOSPC|no space left/i.test(messageOf(err))) {
        throw new CorralError("resource_exhausted", `no space left for staging on ${this.opts.hostName} (${formatBytes(free)} free): ${messageOf(err)}`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * What the plain archive may grow to: the smallest of the sizes announced (by the controller at
   * prepare, by the source in its header) plus slack for tar's headers, and never more than the
   * free space for staging. An announcement above the free space is refused before a byte lands.
   */
  private async sizeLimit(r: Receive, header: TransferHeader, root: string): Promise<{ bytes: number; what: string }> {
    if (!Number.isSafeInteger(header.totalBytes) || header.totalBytes < 0) throw invalidArgument(`invalid announced size ${header.totalBytes}`);
    const free = await this.freeForStaging(root);
    if (header.totalBytes > free) {
      throw new CorralError("resource_exhausted", `no space for staging on ${this.opts.hostName}: the source announces ${formatBytes(header.totalBytes)}, but only ${formatBytes(free)} is free`);
    }
    let limit = { bytes: free, what: "the free space for staging" };
    for (const [n, by] of [
      [r.expectedBytes, "at prepare"],
      [header.totalBytes, "by the source"],
    ] as const) {
      const bytes = Math.ceil(n * SLACK_FACTOR) + SLACK_BYTES;
      if (n > 0 && bytes < limit.bytes) limit = { bytes, what: `announced ${by} (${formatBytes(n)}) plus slack` };
    }
    return limit;
  }

  async commit(token: string): Promise<ContainerStatus> {
    checkToken(token);
    const id = tokenHash(token);
    const r = this.receives.get(id);
    if (!r || r.phase !== "received") throw failedPrecondition("no verified archive for this transfer token");
    r.phase = "committed"; // before the await: a second commit must not race this one
    const backend = this.registry.get(r.ref.backend);
    try {
      const st = await backend.commitRestore(r.ref.name, r.stagingDir, r.grants);
      // Remember across a restart that this container came from this token, so an abort can remove it.
      const marker: Marker = { migrationId: r.migrationId, ref: r.ref };
      await writeFile(this.marker(id), JSON.stringify(marker), { mode: 0o600 });
      return st;
    } catch (err) {
      r.phase = "aborted";
      this.receives.delete(id);
      throw err;
    } finally {
      await dropStaging(r);
    }
  }

  async abort(token: string, ref: ContainerRef | undefined): Promise<AbortReceiveResult> {
    checkToken(token);
    if (ref) checkRef(ref);
    const id = tokenHash(token);
    const r = this.receives.get(id);
    const marker = await this.readMarker(id);
    const bound = r?.ref ?? marker?.ref;
    // The ref recorded for the token is the only container an abort may touch.
    if (ref && bound && !sameRef(ref, bound)) {
      throw denied(`transfer token belongs to container "${bound.name}" (${bound.backend}), not "${ref.name}" (${ref.backend})`);
    }
    let removedStaging = false;
    let removedContainer = false;
    if (r) {
      r.cancel.abort();
      removedStaging = existsSync(r.stagingDir) || existsSync(treeOf(r));
      await dropStaging(r);
    }
    const committed = r?.phase === "committed" || marker !== undefined;
    if (committed && ref) {
      const backend = this.registry.get(ref.backend);
      const st = await backend.inspect(ref.name).catch(() => undefined);
      if (st) {
        if (st.state === "running") await backend.stop(ref.name, 10);
        await backend.remove(ref.name);
        removedContainer = true;
      }
    }
    await unlink(this.marker(id)).catch(() => undefined);
    if (r) r.phase = "aborted";
    this.receives.delete(id);
    return { removedStaging, removedContainer };
  }

  /** Removes uncommitted staging that has seen no activity for the TTL; cuts stalled streams. */
  private sweep(): void {
    const now = Date.now();
    for (const r of this.receives.values()) {
      if (now - r.touchedAt <= this.ttlMs || r.syncing) continue;
      if (r.phase === "receiving") {
        r.cancel.abort(); // the receive loop removes its own staging
        continue;
      }
      if (r.phase !== "prepared" && r.phase !== "received") continue;
      this.receives.delete(r.id);
      r.phase = "aborted";
      this.log.info({ migration: r.migrationId, ct: r.ref.name }, "uncommitted transfer expired; staging removed");
      dropStaging(r).catch((err: unknown) =>
        this.log.warn({ migration: r.migrationId, err: messageOf(err) }, "cannot remove expired staging"),
      );
    }
  }

  private async readMarker(id: string): Promise<Marker | undefined> {
    const text = await readFile(this.marker(id), "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const m = JSON.parse(text) as Marker;
      return m && m.ref && typeof m.ref.name === "string" ? m : undefined;
    } catch {
      return undefined;
    }
  }

  private marker(id: string): string {
    return join(this.markerDir, `${id}.json`);
  }
}
