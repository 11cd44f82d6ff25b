// The agent side of each phase: the steps and undos that phase-table.ts puts in its rows. Every one
// may run again after a controller restart, so each first looks at the world (inspect) and does
// only what is still missing.
import { messageOf, isCode, type ContainerState, type MigrationUpdate } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { migrationRef, toMigration, type MigrationPatch, type MigrationRecord } from "../store/migrations.js";
import { SUBJECTS } from "../events/subjects.js";
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

const SOURCE_STOP_TIMEOUT_S = 30;
const PERSIST_EVERY_MS = 500;
const CALLER_EVERY_MS = 200;
const NATS_EVERY_MS = 1000;

function agent(ctx: ControllerContext, hostName: string) {
  const host = getHost(ctx.store.db, hostName);
  if (!host) throw new Error(`host ${hostName} vanished from the store`);
  return { host, client: ctx.agents.of(host) };
}

export async function prepareTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.targetHost);
  // The target binds the token to this migration and its two hosts; size unknown yet (0: capped by free space).
  await client.prepareReceive({
    token: m.token,
    ref: migrationRef(m),
    compression: m.compression,
    expectedBytes: 0,
    migrationId: m.id,
    sourceHost: m.sourceHost,
    targetHost: m.targetHost,
  });
  return {};
}

/** Remembers whether the source ran, stops it, and marks when downtime began. */
export async function stopSource(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.sourceHost);
  const status = await client.inspect(migrationRef(m));
  // On a re-run after a stop we already took, the row's answer is the one that counts.
  const wasRunning = m.stoppedUnixMs > 0 ? m.wasRunning : status.state === "running";
  patchMigration(env.ctx, m.id, { wasRunning });
  // Downtime starts when the stop is asked for: a clean stop can take its whole timeout.
  const stopAsked = Date.now();
  if (status.state === "running") await client.stop(migrationRef(m), SOURCE_STOP_TIMEOUT_S);
  return { stoppedUnixMs: m.stoppedUnixMs || stopAsked };
}

/** Source streams straight to target; we follow the progress and keep the journal current. */
export async function transfer(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.sourceHost);
  const target = agent(env.ctx, m.targetHost).host;
  const meter = new ProgressMeter();
  const last = { persist: 0, caller: 0, nats: 0 };
  const req = { ref: migrationRef(m), targetAddress: target.address, targetHost: target.name, token: m.token, compression: m.compression };
  for await (const p of client.sendArchive(req)) {
    if (env.signal.aborted) throw env.signal.reason;
    meter.add(p.bytes);
    const now = Date.now();
    if (p.done) {
      if (!p.sha256) throw new Error("source finished the transfer without a digest");
      return { bytes: p.bytes, totalBytes: Math.max(p.totalBytes, p.bytes), sha256: p.sha256 };
    }
    if (now - last.persist >= PERSIST_EVERY_MS) {
      patchMigration(env.ctx, m.id, { bytes: p.bytes, totalBytes: p.totalBytes });
      last.persist = now;
    }
    const update: MigrationUpdate = {
      migration: { ...toMigration(m), phase: "transferring", bytes: p.bytes, totalBytes: p.totalBytes },
      rateBytesPerSecond: meter.rate(),
      etaSeconds: meter.eta(p.totalBytes),
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
  throw new Error("source ended the transfer before it was complete");
}

export async function commitTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  await agent(env.ctx, m.targetHost).client.commitReceive(m.token);
  return {};
}

/** Starts the target if the source ran; downtime ends when it runs. */
export async function startTarget(env: StepEnv, m: MigrationRecord): Promise<MigrationPatch> {
  const { client } = agent(env.ctx, m.targetHost);
  if (m.wasRunning) {
    const status = await client.inspect(migrationRef(m));
    if (status.state !== "running") await client.start(migrationRef(m));
  }
  return { downtimeMs: m.stoppedUnixMs > 0 ? Date.now() - m.stoppedUnixMs : 0 };
}

/**
 * Deletes the source copy. A failure here no longer matters to the container: it runs on the
 * target. The copy is then left for when its host registers (cleanups.ts runs this again).
 */
export async function removeSource(env: Pick<StepEnv, "ctx">, m: MigrationRecord): Promise<MigrationPatch> {
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
    await agent(ctx, m.targetHost).client.abortReceive(m.token, migrationRef(m));
  } catch (err) {
    if (!isCode(err, "not_found")) {
      ctx.log.warn({ migration: m.id, err: messageOf(err) }, "target cleanup deferred");
      return { patch: { targetCleanupPending: true } };
    }
  }
  return { patch: m.targetCleanupPending ? { targetCleanupPending: false } : {} };
}
