// Owns the running migrations: starts them, lets callers watch them, resumes them after a restart.
// A migration belongs to the controller, not to the call that asked for it: a caller that goes
// away only stops watching.
import { randomBytes } from "node:crypto";
import { EventEmitter, on } from "node:events";
import { CorralError, failedPrecondition, notFound, type ConversionPlan, type MigrateOptions, type MigrationUpdate } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer, setContainerState } from "../store/containers.js";
import { getMigration, insertMigration, toMigration, unfinishedMigrations, type MigrationRecord } from "../store/migrations.js";
import { SUBJECTS } from "../events/subjects.js";
import { driveMigration, updateOf } from "./migration-driver.js";
import { enterRollingBack, loadMigration, patchMigration } from "./journal.js";
import { isTerminal, rollsBackOnRestart } from "./phase-table.js";
import { validateMigration } from "./validate-migration.js";
import { tokenDigest, transferToken } from "./transfer-token.js";
import { removeSource } from "./steps.js";

/** What `ct migrate` may leave out: the defaults of a plain cold move. */
export const DEFAULT_MIGRATE_OPTIONS: MigrateOptions = {
  compression: "none",
  stopTimeoutSeconds: undefined,
  detach: false,
  dryRun: false,
  keepSource: false,
  bwlimitBytesPerSecond: 0,
  precopy: false,
};
export const DEFAULT_STOP_TIMEOUT_S = 30;

export class MigrationService {
  private readonly updates = new EventEmitter();
  private readonly running = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();

  constructor(private readonly ctx: ControllerContext) {
    this.updates.setMaxListeners(0);
  }

  /** Validates, records the planned migration and starts driving it. */
  begin(name: string, targetHost: string, options: Partial<MigrateOptions> = {}, conversion?: ConversionPlan): MigrationRecord {
    const opts = { ...DEFAULT_MIGRATE_OPTIONS, ...options };
    const { container, target, targetBackend } = validateMigration(this.ctx, name, targetHost, opts.targetBackend, opts.precopy);
    if (targetBackend !== container.backend && !conversion) throw failedPrecondition(`a move of ${name} to ${targetBackend} needs its conversion plan first`);
    const release = this.ctx.locks.acquire(name, "migrating");
    const id = `m-${randomBytes(6).toString("hex")}`;
    try {
      this.ctx.store.tx(() => {
        insertMigration(this.ctx.store.db, {
          id,
          container: name,
          backend: container.backend,
          sourceHost: container.host,
          targetHost: target.name,
          tokenSha256: tokenDigest(transferToken(this.ctx, id)),
          wasRunning: container.state === "running",
          compression: opts.compression,
          now: Date.now(),
          stopTimeoutSeconds: opts.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_S,
          keepSource: opts.keepSource,
          bwlimitBytesPerSecond: opts.bwlimitBytesPerSecond,
          targetBackend,
          precopy: opts.precopy ?? false,
          ...(conversion ? { conversion } : {}),
        });
        setContainerState(this.ctx.store.db, name, "migrating");
        this.ctx.store.emit(SUBJECTS.migrationStarted, toMigration(loadMigration(this.ctx, id)));
      });
    } catch (err) {
      release();
      throw err;
    }
    this.ctx.log.info({ migration: id, container: name, from: container.host, to: target.name }, "migration planned");
    this.drive(id, release);
    return loadMigration(this.ctx, id);
  }

  /** Current state first, then every update until the migration ends. Rolled back → aborted error. */
  async *watch(id: string, signal: AbortSignal): AsyncGenerator<MigrationUpdate> {
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal.addEventListener("abort", stop, { once: true });
    const events = on(this.updates, id, { signal: ac.signal });
    try {
      let m = loadMigration(this.ctx, id);
      yield updateOf(m);
      while (!isTerminal(m.phase)) {
        const next = await events.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) return;
        const [update] = next.value as [MigrationUpdate];
        m = loadMigration(this.ctx, id);
        if (!isTerminal(m.phase)) yield update;
      }
      if (m.phase === "rolled_back") throw rolledBackError(m, getContainer(this.ctx.store.db, m.container)?.state);
      yield updateOf(m);
    } finally {
      signal.removeEventListener("abort", stop);
      ac.abort();
    }
  }

  /** The migration with this id, or a not_found error that says so. */
  get(id: string): MigrationRecord {
    const m = getMigration(this.ctx.store.db, id);
    if (!m) throw notFound(`migration "${id}" not found (corral migration list shows them)`);
    return m;
  }

  /**
   * `migration finish ID`: removes the source a --keep-source migration kept stopped. Only once
   * the migration is done, and never a container that has since come back to that host.
   */
  async finish(id: string): Promise<MigrationRecord> {
    const m = this.get(id);
    if (m.phase !== "done") throw failedPrecondition(`migration ${id} is ${m.phase}; only a finished (done) migration can be finished`);
    if (!m.sourceKept) throw failedPrecondition(`migration ${id} kept no source copy (it was not run with --keep-source, or was finished already)`);
    if (getContainer(this.ctx.store.db, m.container)?.host === m.sourceHost) {
      throw failedPrecondition(`${m.container} lives on ${m.sourceHost} again; its copy there is not a leftover`);
    }
    const patch = await removeSource({ ctx: this.ctx }, { ...m, keepSource: false });
    if (patch.sourceCleanupPending) throw new CorralError("unavailable", patch.error ?? `the copy on ${m.sourceHost} could not be removed`);
    patchMigration(this.ctx, id, { ...patch, sourceKept: false });
    return loadMigration(this.ctx, id);
  }

  /** At start: finish what a previous controller left. Before target_started → roll back. */
  resumeAll(): number {
    const pending = unfinishedMigrations(this.ctx.store.db);
    for (const m of pending) {
      const release = this.ctx.locks.acquire(m.container, "migrating");
      if (rollsBackOnRestart(m.phase)) {
        enterRollingBack(this.ctx, m, `controller restarted during ${m.phase}`);
      }
      this.ctx.log.info({ migration: m.id, container: m.container, phase: m.phase }, "resuming migration");
      this.drive(m.id, release);
    }
    return pending.length;
  }

  /** Stops driving (rows stay as they are) and waits a little for steps in flight. */
  async stop(graceMs = 5000): Promise<void> {
    this.shutdown.abort(new CorralError("cancelled", "controller shutting down"));
    const all = Promise.allSettled([...this.running.values()]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  private drive(id: string, release: () => void): void {
    const env = {
      ctx: this.ctx,
      signal: this.shutdown.signal,
      onUpdate: (u: MigrationUpdate) => this.updates.emit(id, u),
    };
    const run = driveMigration(env, id)
      .then((m) => {
        if (isTerminal(m.phase)) {
          release();
          this.updates.emit(id, updateOf(m));
          this.ctx.log.info({ migration: id, phase: m.phase, downtimeMs: m.downtimeMs, error: m.error || undefined }, "migration finished");
        }
      })
      .catch((err: unknown) => {
        if (!this.shutdown.signal.aborted) this.ctx.log.error({ migration: id, err: String(err) }, "migration driver failed");
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }
}

function rolledBackError(m: MigrationRecord, state: string | undefined): CorralError {
  const where =
    state === "running"
      ? `${m.container} runs on ${m.sourceHost}`
      : `${m.container} is ${state === "error" ? "not running" : "stopped"} on ${m.sourceHost}`;
  return new CorralError("aborted", `migration of ${m.container} to ${m.targetHost} failed: ${m.error}; rolled back, ${where}`);
}
