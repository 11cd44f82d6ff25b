// ControllerService: the CLI's API, one small function per call.
import { MIGRATION_DETAIL_DEFAULTS, type ControllerHandlers, type MigrateOptions, type MigrationUpdate } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { DEFAULT_STOP_TIMEOUT_S, type MigrationService } from "../migration/migration-service.js";
import { conversionPlan, preflight } from "../migration/preflight.js";
import { validateMigration } from "../migration/validate-migration.js";
import { updateOf } from "../migration/migration-driver.js";
import { listContainerView } from "./container-list.js";
import { listHosts } from "../store/hosts.js";
import { listMigrations, toMigration } from "../store/migrations.js";
import { createContainer } from "./container-create.js";
import { removeContainer, startContainer, stopContainer } from "./container-lifecycle.js";
import { setLimits } from "./container-limits.js";
import { execInContainer } from "./container-exec.js";
import { containerLogs, copyIntoContainer, copyOutOfContainer } from "./container-files.js";
import { importImage } from "./image-import.js";
import { showContainer } from "./container-show.js";
import { findPidOwner, listProcesses } from "./container-processes.js";
import { listImages, removeImage } from "./image-catalog.js";
import { controllerVersion } from "../version.js";
import type { EventReader } from "../events/event-reader.js";
import { issueToken, listTokens, revokeToken } from "../auth/token-store.js";
import { explainPlacement } from "./placement.js";
import { cordonHost, labelHost, setClusterSetting, setHostOvercommit, uncordonHost } from "./host-maintenance.js";
import { drainHost, restoreHost } from "./host-drain.js";
import { createJoinToken, DEFAULT_JOIN_TTL_MS } from "../pki/join-tokens.js";
import { removeHost } from "../pki/host-remove.js";
import { networkView } from "../network/network-service.js";

export function controllerHandlers(ctx: ControllerContext, migrations: MigrationService, events: EventReader): ControllerHandlers {
  const db = () => ctx.store.db;
  return {
    listHosts: async () => listHosts(db()),
    create: (req) => createContainer(ctx, req),
    list: async (host) => listContainerView(ctx, host),
    get: (name) => showContainer(ctx, name),
    start: (name) => startContainer(ctx, name),
    stop: (name, timeout) => stopContainer(ctx, name, timeout),
    remove: (name, force) => removeContainer(ctx, name, force),
    exec: (req, input, signal) => execInContainer(ctx, req, input, signal),
    setLimits: (name, limits) => setLimits(ctx, name, limits),
    listProcesses: (name) => listProcesses(ctx, name),
    findPidOwner: (host, pid) => findPidOwner(ctx, host, pid),
    migrate: (name, target, opts, signal) => migrate(ctx, migrations, name, target, opts, signal),
    listMigrations: async (container) => listMigrations(db(), container).map(toMigration),
    watchMigration: (id, follow, signal) => watchMigration(migrations, id, follow, signal),
    finishMigration: async (id) => toMigration(await migrations.finish(id)),
    importImage: (chunks) => importImage(ctx, chunks),
    copyIn: (chunks) => copyIntoContainer(ctx, chunks),
    copyOut: (name, path, signal) => copyOutOfContainer(ctx, name, path, signal),
    logs: (name, opts, signal) => containerLogs(ctx, name, opts, signal),
    listImages: () => listImages(ctx),
    removeImage: (name) => removeImage(ctx, name),
    createToken: async (role, ttlSeconds) => issueToken(ctx.store, role, ttlSeconds * 1000),
    listTokens: async () => listTokens(db()),
    revokeToken: async (id) => revokeToken(ctx.store, id),
    explainPlacement: async (req) => explainPlacement(ctx, req),
    labelHost: async (host, set, remove) => labelHost(ctx, host, set, remove),
    setHostOvercommit: async (host, ratio) => setHostOvercommit(ctx, host, ratio),
    cordonHost: async (host) => cordonHost(ctx, host),
    uncordonHost: async (host) => uncordonHost(ctx, host),
    drainHost: (host, parallel, deadlineSeconds, signal) => drainHost(ctx, migrations, host, parallel, deadlineSeconds, signal),
    restoreHost: (host, parallel, signal) => restoreHost(ctx, migrations, host, parallel, signal),
    setClusterSetting: async (key, value) => setClusterSetting(ctx, key, value),
    createJoinToken: async (ttlSeconds) =>
      createJoinToken(db(), ctx.identity.pki.fingerprint, ttlSeconds > 0 ? ttlSeconds * 1000 : DEFAULT_JOIN_TTL_MS),
    removeHost: async (name) => removeHost(ctx, name),
    getVersion: async () => controllerVersion(),
    showNetwork: async () => networkView(ctx),
    watchEvents: (q, signal) => events.read(q, signal),
  };
}

async function* migrate(
  ctx: ControllerContext,
  migrations: MigrationService,
  name: string,
  target: string,
  opts: MigrateOptions,
  signal: AbortSignal,
): AsyncGenerator<MigrationUpdate> {
  if (opts.dryRun) {
    // Changes nothing: the answer is the migration as it would be planned, with no id.
    const { container, source, target: t, conversion } = await preflight(ctx, name, target, opts.targetBackend, opts.precopy);
    const now = Date.now();
    yield {
      migration: {
        id: "", container: name, sourceHost: source.name, targetHost: t.name, phase: "planned", bytes: 0, totalBytes: 0,
        error: "", startedUnixMs: now, finishedUnixMs: 0, downtimeMs: 0, compression: opts.compression, sha256: "",
        ...MIGRATION_DETAIL_DEFAULTS, wasRunning: container.state === "running",
        stopTimeoutSeconds: opts.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_S, keepSource: opts.keepSource,
        phaseStartedUnixMs: now, precopy: opts.precopy ?? false, ...(conversion ? { conversion } : {}),
      },
      rateBytesPerSecond: 0,
      etaSeconds: -1,
    };
    return;
  }
  // A converting move first learns from the source what carries over (migration show lists it).
  const conversion = opts.targetBackend ? await conversionPlan(ctx, validateMigration(ctx, name, target, opts.targetBackend)) : undefined;
  const m = migrations.begin(name, target, opts, conversion);
  if (opts.detach) {
    yield updateOf(m);
    return;
  }
  yield* migrations.watch(m.id, signal);
}

async function* watchMigration(migrations: MigrationService, id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<MigrationUpdate> {
  const m = migrations.get(id);
  if (!follow) {
    yield updateOf(m);
    return;
  }
  yield* migrations.watch(id, signal);
}
