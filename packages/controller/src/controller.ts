// Wires the controller together: store, registry, scheduler settings, migrations, events, gRPC.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import {
  ControllerServiceDefinition,
  RegistryServiceDefinition,
  SERVER_OPTIONS,
  controllerServiceImplementation,
  guardImplementation,
  registryServiceImplementation,
} from "@corral/wire";
import { userCallCheck } from "./auth/authorize.js";
import { activeAdmins } from "./auth/token-store.js";
import type { ControllerContext } from "./context.js";
import { Store } from "./store/store.js";
import { AgentPool } from "./registry/agent-pool.js";
import { registryHandlers } from "./registry/registry-service.js";
import { startLiveness } from "./registry/liveness.js";
import { Reconciler } from "./reconcile/reconciler.js";
import { OperationLocks } from "./operation-lock.js";
import { MigrationService } from "./migration/migration-service.js";
import { NO_EVENTS, OutboxPublisher } from "./events/outbox-publisher.js";
import { controllerHandlers } from "./api/controller-service.js";
import type { Algorithm } from "./scheduler/index.js";

export interface ControllerOptions {
  /** HOST:PORT; port 0 picks a free one (see the returned address). */
  listen: string;
  /** SQLite file. */
  db: string;
  nats?: string | undefined;
  reportIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  scheduler?: Algorithm;
  /** Fixed scheduler seed, for replayable placement in tests. */
  schedulerSeed?: number;
  logLevel?: string;
  logger?: Logger;
}

export interface RunningController {
  /** HOST:PORT the gRPC server is bound to. */
  address: string;
  close(): Promise<void>;
}

export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? "info", base: { svc: "corral-controller" } });
  const store = Store.open(opts.db);
  const publisher = opts.nats ? new OutboxPublisher(store, { servers: opts.nats, log }) : undefined;
  const ctx: ControllerContext = {
    store,
    agents: new AgentPool(store),
    locks: new OperationLocks(),
    log,
    events: publisher ?? NO_EVENTS,
    settings: {
      reportIntervalMs: opts.reportIntervalMs ?? 2000,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 10_000,
      algorithm: opts.scheduler ?? "binpack",
      schedulerSeed: opts.schedulerSeed,
    },
  };
  const migrations = new MigrationService(ctx);
  const server = new Server(SERVER_OPTIONS);
  // Every CLI call is checked against the role table before it reaches a handler.
  const api = guardImplementation(
    ControllerServiceDefinition,
    controllerServiceImplementation(controllerHandlers(ctx, migrations)),
    userCallCheck(() => store.db, log),
  );
  server.addService(ControllerServiceDefinition, api);
  server.addService(RegistryServiceDefinition, registryServiceImplementation(registryHandlers(ctx)));
  let port: number;
  try {
    port = await bind(server, opts.listen);
  } catch (err) {
    store.close();
    throw err;
  }
  publisher?.start();
  const resumed = migrations.resumeAll();
  const stopLiveness = startLiveness(ctx);
  // After resumeAll: the migrations it took back hold their containers' locks, so the reconciler leaves them be.
  const stopReconciler = new Reconciler(ctx).start();
  const address = `${opts.listen.replace(/:\d+$/, "")}:${port}`;
  log.info({ address, db: opts.db, nats: opts.nats ?? null, resumedMigrations: resumed }, "controller listening");
  if (activeAdmins(store.db).length === 0) {
    log.warn({ db: opts.db }, `no admin token works: nobody can manage this cluster; create one with corral-controller --db ${opts.db} --issue-admin-token`);
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopLiveness();
      await stopReconciler();
      await migrations.stop();
      await shutdown(server);
      await publisher?.close();
      ctx.agents.closeAll();
      store.close();
      log.info("controller stopped");
    })());
  return { address, close };
}

function bind(server: Server, listen: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** Lets calls in flight finish for a moment, then cuts them. */
function shutdown(server: Server, graceMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
