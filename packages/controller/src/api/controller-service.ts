// ControllerService: the CLI's API, one small function per call.
import type { ControllerHandlers } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import type { MigrationService } from "../migration/migration-service.js";
import { listContainers } from "../store/containers.js";
import { listHosts } from "../store/hosts.js";
import { listMigrations, toMigration } from "../store/migrations.js";
import { createContainer } from "./container-create.js";
import { removeContainer, startContainer, stopContainer } from "./container-lifecycle.js";
import { setLimits } from "./container-limits.js";
import { execInContainer } from "./container-exec.js";
import { importImage } from "./image-import.js";
import { requireContainer } from "./lookup.js";
import { controllerVersion } from "../version.js";
import type { EventReader } from "../events/event-reader.js";
import { issueToken, listTokens, revokeToken } from "../auth/token-store.js";

export function controllerHandlers(ctx: ControllerContext, migrations: MigrationService, events: EventReader): ControllerHandlers {
  const db = () => ctx.store.db;
  return {
    listHosts: async () => listHosts(db()),
    create: (req) => createContainer(ctx, req),
    list: async (host) => listContainers(db(), host),
    get: async (name) => requireContainer(ctx, name),
    start: (name) => startContainer(ctx, name),
    stop: (name, timeout) => stopContainer(ctx, name, timeout),
    remove: (name, force) => removeContainer(ctx, name, force),
    exec: (name, argv, env, signal) => execInContainer(ctx, name, argv, env, signal),
    setLimits: (name, limits) => setLimits(ctx, name, limits),
    migrate: (name, target, compression, signal) => migrate(migrations, name, target, compression, signal),
    listMigrations: async (container) => listMigrations(db(), container).map(toMigration),
    importImage: (chunks) => importImage(ctx, chunks),
    createToken: async (role, ttlSeconds) => issueToken(ctx.store, role, ttlSeconds * 1000),
    listTokens: async () => listTokens(db()),
    revokeToken: async (id) => revokeToken(ctx.store, id),
    getVersion: async () => controllerVersion(),
    watchEvents: (q, signal) => events.read(q, signal),
  };
}

async function* migrate(
  migrations: MigrationService,
  name: string,
  target: string,
  compression: Parameters<MigrationService["begin"]>[2],
  signal: AbortSignal,
) {
  const m = migrations.begin(name, target, compression);
  yield* migrations.watch(m.id, signal);
}
