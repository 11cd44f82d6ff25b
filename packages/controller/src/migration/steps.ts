// The agent side of each phase: the steps and undos that phase-table.ts puts in its rows. Every one
// may run again after a controller restart, so each first looks at the world (inspect) and does
// only what is still missing.
import { failedPrecondition, messageOf, isCode, type ContainerState, type MigrationUpdate, type PrecopyPass, type TransferProgress } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { getContainer } from "../store/containers.js";
import { migrationRef, targetRef, toMigration, type MigrationPatch, type MigrationRecord } from "../store/migrations.js";
import { SUBJECTS } from "../events/subjects.js";
import { transferToken } from "./transfer-token.js";
import { patchMigration } from "./journal.js";
import { ProgressMeter } from "./progress-meter.js";

export interface StepEnv {
  ctx: ControllerContext;
  signal: AbortSignal;
  onUpdate: (u: MigrationUpdate) => void;
}

/** What an undo did: what to write on the row, and the source's state if the undo settled it. */
export interface Undone {
  patch: MigrationPatch;
  sourceState?: ContainerState;
}

const PERSIST_EVERY_MS = 500;
const CALLER_EVERY_MS = 200;
const NATS_EVERY_MS = 1000;

/**
 * An error that names the host whose failure it is, so a rollback blames the right one
 * (journal.ts records it as failedHost).
 */
export class HostFailure extends Error {
  constructor(
    readonly host: string,
    override readonly cause: unknown,
  ) {
    super(messageOf(cause));
  }
}

/** Runs one call to a host's agent; a failure is that host's. */
async function on<T>(host: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof HostFailure ? err : new HostFailure(host, err);
  }
}

/** Whether a host's agent answers now, within a short deadline (for blame, not for work). */
async function answers(ctx: ControllerContext, hostName: string, withinMs = 3000): Promise<boolean> {
  const host = getHost(ctx.store.db, hostName);
  if (!host || host.state === "down") return false;
  const probe = ctx.agents.of(host).hostInfo().then(
    () => true,
    () => false,
  );
  const late = new Promise<boolean>((r) => setTimeout(() => r(false), withinMs).unref());
  return Promise.race([probe, late]);
}

function agent(ctx: ControllerContext, hostName: string) {
  const host = getHost(ctx.store.db, hostName);
  if (!host) throw new Error(`host ${hostName} vanished from the store`);
  return { host, client: ctx.agents.of(host) };
}

export async function prepareTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.targetHost);
  // What the spec grants travels from here, not from the source: the target refuses an archive
  // whose config takes more (a privileged or nesting config for a container that asked for neither).
  const spec = getContainer(env.ctx.store.db, m.container)?.spec;
  const grants = { privileged: spec?.privileged ?? false, nesting: spec?.nesting ?? false };
  // The target binds the token to this migration and its two hosts; size unknown yet (0: capped by free space).
  await on(m.targetHost, () =>
    client.prepareReceive({
      token: transferToken(env.ctx, m.id),
      ref: targetRef(m),
      // A converting move: the archive comes in the source backend's format.
      ...(m.targetBackend !== m.backend ? { sourceBackend: m.backend } : {}),
      compression: m.compression,
      expectedBytes: 0,
      migrationId: m.id,
      sourceHost: m.sourceHost,
      targetHost: m.targetHost,
      grants,
      // Its address and ports: the target refuses ports it cannot publish before anything moves.
      spec: spec ? { ...spec, backend: m.targetBackend } : undefined,
    }),
  );
  return {};
}

/**
 * Remembers whether the source ran, stops it (the agent escalates to a kill at the migration's
 * stop timeout; 0 kills at once), and marks when downtime began. A stopped container has no
 * downtime: stoppedUnixMs stays 0.
 */
export async function stopSource(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.sourceHost);
  const status = await on(m.sourceHost, () => client.inspect(migrationRef(m)));
  // On a re-run after a stop we already took, the row's answer is the one that counts.
  const wasRunning = m.stoppedUnixMs > 0 ? m.wasRunning : status.state === "running";
  patchMigration(env.ctx, m.id, { wasRunning });
  if (status.state !== "running") return {};
  // Downtime starts when the stop is asked for: a clean stop can take its whole timeout.
  const stopAsked = Date.now();
  patchMigration(env.ctx, m.id, { stoppedUnixMs: m.stoppedUnixMs || stopAsked });
  // A stop can take its whole timeout: keep watchers told (their line shows `stopping (12s)`).
  const beat = setInterval(() => env.onUpdate({ migration: toMigration({ ...m, wasRunning }), rateBytesPerSecond: 0, etaSeconds: -1 }), 1000);
  try {
    await on(m.sourceHost, () => client.stop(migrationRef(m), m.stopTimeoutSeconds));
  } finally {
    clearInterval(beat);
  }
  return { stoppedUnixMs: m.stoppedUnixMs || stopAsked, stopMs: Date.now() - stopAsked };
}

/** A live pass that sent no more than this leaves a final pass short enough for the downtime. */
export const CONVERGED_BYTES = 8 * 1024 * 1024;
/** Live passes at most, the first included. */
export const MAX_LIVE_PASSES = 4;

/**
 * Whether another pass should run before the stop, given what the last two live passes sent:
 * while the container keeps writing, each pass sends what changed during the one before, so
 * passes go on while that shrinks (by half at least) and is still more than CONVERGED_BYTES. A
 * container that writes as fast as the passes copy does not converge: its final pass takes it.
 */
export function anotherPass(passes: number[]): boolean {
  const last = passes.at(-1) ?? 0;
  const before = passes.at(-2);
  if (passes.length >= MAX_LIVE_PASSES || last <= CONVERGED_BYTES) return false;
  return before === undefined || last <= before / 2;
}

/**
 * Pre-copy's live passes: the source syncs its tree (rsync) into the target's staging while the
 * container runs, again while the passes converge (anotherPass), as vzmigrate's and CRIU's
 * iterative pre-dumps do, so the final pass, taken stopped, sends only the last pass's changes.
 * What a pass sends is not verified as a whole: the final pass sends what changed since.
 */
export async function precopy(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const passes: number[] = [];
  let moved = 0;
  do {
    // The count is on the record (migration show, the progress line) before the pass begins.
    const precopyPasses = passes.length + 1;
    patchMigration(env.ctx, m.id, { precopyPasses });
    // The first pass copies the tree, whose size is its total; what a later one sends is unknown
    // until it is over: the progress counts on from the passes before, against no total.
    const sent = (await follow(env, { ...m, precopyPasses }, "precopying", "first", moved, precopyPasses === 1)).bytes;
    passes.push(sent);
    moved += sent;
  } while (anotherPass(passes));
  env.ctx.log.info({ migration: m.id, ct: m.container, passes }, "pre-copy live passes done");
  // The record's bytes are all that moved: the transfer adds the final pass and the archive.
  return { bytes: moved };
}

/** Source streams straight to target (after a pre-copy: what changed, then the rest); downtime's middle part. */
export async function transfer(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const started = Date.now();
  // After a pre-copy, the live passes' bytes are on the record (precopy's patch) and count too.
  const before = m.precopy ? m.bytes : 0;
  const p = await follow(env, m, "transferring", m.precopy ? "final" : undefined, before);
  if (!p.sha256) throw new Error("source finished the transfer without a digest");
  // Cold: the whole transfer is the final sync (the container is stopped all along).
  const finalSyncMs = m.wasRunning ? Date.now() - started : 0;
  return { bytes: before + p.bytes, totalBytes: before + p.bytes, totalIsEstimate: false, sha256: p.sha256, finalSyncMs };
}

/**
 * Runs one SendArchive (a pass of a pre-copy, or the archive), following its progress and keeping
 * the journal current; `before` is what earlier passes moved, counted into the progress shown.
 * Without `sized`, the source's total is not one for this send (a later live pass): none is shown.
 */
async function follow(env: StepEnv, m: MigrationRecord, phase: "precopying" | "transferring", precopyPass: PrecopyPass | undefined, before = 0, sized = true): Promise<TransferProgress> {
  const { client } = agent(env.ctx, m.sourceHost);
  const { host: target, client: targetClient } = agent(env.ctx, m.targetHost);
  // The bytes go to the target's data listener (direct mutual TLS, data-link.ts); gRPC stays for
  // control. Only a target agent that advertises no data listener (an older one) gets them on gRPC.
  const { dataAddress } = await on(m.targetHost, () => targetClient.hostInfo());
  if (m.precopy && !dataAddress) throw new HostFailure(m.targetHost, failedPrecondition(`${m.targetHost} has no data listener, which a pre-copy needs`));
  const meter = new ProgressMeter();
  const last = { persist: 0, caller: 0, nats: 0 };
  const req = {
    ref: migrationRef(m),
    targetAddress: target.address,
    targetHost: target.name,
    token: transferToken(env.ctx, m.id),
    compression: m.compression,
    bwlimitBytesPerSecond: m.bwlimitBytesPerSecond,
    ...(dataAddress ? { dataAddress } : {}),
    ...(precopyPass ? { precopyPass } : {}),
  };
  try {
    for await (const p of client.sendArchive(req)) {
      if (env.signal.aborted) throw env.signal.reason;
      meter.add(p.bytes);
      const now = Date.now();
      if (p.done) return p;
      // The source's total is an estimate from the tree size: never let the count pass it.
      const bytes = before + p.bytes;
      const totalBytes = sized ? before + Math.max(p.totalBytes, p.bytes) : 0;
      if (now - last.persist >= PERSIST_EVERY_MS) {
        patchMigration(env.ctx, m.id, { bytes, totalBytes, totalIsEstimate: sized });
        last.persist = now;
      }
      const update: MigrationUpdate = {
        migration: { ...toMigration(m), phase, bytes, totalBytes, totalIsEstimate: sized },
        rateBytesPerSecond: meter.rate(),
        // The meter counts this send's bytes only: its ETA is for what is left of this send.
        etaSeconds: sized ? meter.eta(totalBytes - before) : -1,
      };
      if (now - last.caller >= CALLER_EVERY_MS) {
        env.onUpdate(update);
        last.caller = now;
      }
      if (now - last.nats >= NATS_EVERY_MS) {
        env.ctx.events.publishNow(SUBJECTS.migrationProgress, { ...update.migration, rateBytesPerSecond: update.rateBytesPerSecond, etaSeconds: update.etaSeconds });
        last.nats = now;
      }
    }
  } catch (err) {
    // The source reports every failure of the copy, its own or the target's. The target is to
    // blame when the failure is its answer (the sender names the target's address in it), or
    // when it no longer answers at all; otherwise the source is.
    if (env.signal.aborted) throw err;
    const text = messageOf(err);
    const namesTarget = text.includes(target.address) || new RegExp(`\\b${m.targetHost}\\b`).test(text);
    const blamed = namesTarget || !(await answers(env.ctx, m.targetHost)) ? m.targetHost : m.sourceHost;
    throw new HostFailure(blamed, err);
  }
  throw new HostFailure(m.sourceHost, new Error("source ended the transfer before it was complete"));
}

export async function commitTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  await on(m.targetHost, () => agent(env.ctx, m.targetHost).client.commitReceive(transferToken(env.ctx, m.id)));
  return {};
}

/** Starts the target if the source ran; downtime ends when it runs. */
export async function startTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.targetHost);
  const asked = Date.now();
  if (m.wasRunning) {
    const status = await on(m.targetHost, () => client.inspect(targetRef(m)));
    if (status.state !== "running") await on(m.targetHost, () => client.start(targetRef(m)));
  }
  const now = Date.now();
  // A stopped container stays stopped and has no downtime.
  if (!m.wasRunning || m.stoppedUnixMs === 0) return { downtimeMs: 0, startMs: 0 };
  return { downtimeMs: now - m.stoppedUnixMs, startMs: now - asked };
}

/**
 * Deletes the source copy. A failure here no longer matters to the container: it runs on the
 * target. The copy is then left for when its host registers (cleanups.ts runs this again).
 */
export async function removeSource(env: Pick<StepEnv, "ctx">, m: MigrationRecord): Promise<MigrationPatch> {
  // --keep-source: the stopped source waits for `corral migration finish ID` (finishKeptSource).
  if (m.keepSource && !m.sourceCleanupPending) return { sourceKept: true };
  try {
    await agent(env.ctx, m.sourceHost).client.remove(migrationRef(m));
  } catch (err) {
    if (!isCode(err, "not_found")) {
      const warning = `warning: the copy on ${m.sourceHost} could not be removed (${messageOf(err)}); retried when ${m.sourceHost} registers`;
      env.ctx.log.warn({ migration: m.id, err: messageOf(err) }, "source cleanup deferred");
      return { error: warning, sourceCleanupPending: true };
    }
  }
  return m.sourceCleanupPending ? { sourceCleanupPending: false } : {};
}

/** Undo of source_stopped: restart the source if it ran before. */
export async function restartSource(ctx: ControllerContext, m: MigrationRecord): Promise<Undone> {
  if (!m.wasRunning) return { patch: {}, sourceState: "stopped" };
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const { client } = agent(ctx, m.sourceHost);
      const status = await client.inspect(migrationRef(m));
      if (status.state !== "running") await client.start(migrationRef(m));
      return { patch: {}, sourceState: "running" };
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  return {
    patch: { error: `${m.error}; restarting ${m.container} on ${m.sourceHost} failed: ${messageOf(lastErr)}` },
    sourceState: "error",
  };
}

/**
 * Undo of target_reserved: the target drops the receive, its staging and any committed copy. An
 * unreachable target keeps targetCleanupPending and is retried when it registers (cleanups.ts).
 */
export async function abortTarget(ctx: ControllerContext, m: MigrationRecord): Promise<Undone> {
  try {
    await agent(ctx, m.targetHost).client.abortReceive(transferToken(ctx, m.id), targetRef(m));
  } catch (err) {
    if (!isCode(err, "not_found")) {
      ctx.log.warn({ migration: m.id, err: messageOf(err) }, "target cleanup deferred");
      return { patch: { targetCleanupPending: true } };
    }
  }
  return { patch: m.targetCleanupPending ? { targetCleanupPending: false } : {} };
}
