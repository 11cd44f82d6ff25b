// Wires the controller together: store, registry, scheduler settings, migrations, events, gRPC.
import { join } from "node:path";
import { Server } from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import {
  ControllerServiceDefinition,
  RegistryServiceDefinition,
  SERVER_OPTIONS,
  controllerServiceImplementation,
  loadClusterPki,
  registryServiceImplementation,
  serverCredentials,
  type ClusterPki,
  messageOf,
  serveMetrics,
  type MetricsEndpoint,
} from "@corral/wire";
import { userAccess } from "./auth/authorize.js";
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
import { CertificateRecords } from "./pki/revocation.js";
import { controllerAccess, registryAccess } from "./pki/access.js";
import { ControllerMetrics } from "./metrics/controller-metrics.js";
import { EventReader } from "./events/event-reader.js";
import { DEFAULT_MTU, DEFAULT_VNI, Pool } from "./network/pool.js";

export interface ControllerOptions {
  /** HOST:PORT; port 0 picks a free one (see the returned address). */
  listen: string;
  /** SQLite file. */
  db: string;
  /** Holds pki/ (the cluster CA and the controller's certificate), made by `corral cluster init`. */
  stateDir: string;
  nats?: string | undefined;
  reportIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  scheduler?: Algorithm;
  /** Fixed scheduler seed, for replayable placement in tests. */
  schedulerSeed?: number;
  logLevel?: string;
  logger?: Logger;
  /** HOST:PORT for plain-HTTP Prometheus /metrics; none served when undefined. */
  metricsListen?: string | undefined;
  /** The container network's pool (CIDR), VXLAN id and MTU; no pool: containers get no address. */
  network?: { pool: string; vni?: number; mtu?: number } | undefined;
}

export interface RunningController {
  /** HOST:PORT the gRPC server is bound to. */
  address: string;
  /** The live store and in-memory state, for benches that measure what the controller holds. */
  store: Store;
  /** http://HOST:PORT/metrics when --metrics-listen was given. */
  metricsUrl: string | undefined;
  /** What the controller measures of itself (benches read report → state here). */
  metrics: ControllerMetrics;
  close(): Promise<void>;
}

export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? "info", base: { svc: "corral-controller" } });
  const pki = loadClusterPki(opts.stateDir);
  const store = Store.open(opts.db);
  const certs = new CertificateRecords(store.db);
  const publisher = opts.nats ? new OutboxPublisher(store, { servers: opts.nats, log }) : undefined;
  const ctx: ControllerContext = {
    store,
    agents: new AgentPool(store, pki.controller),
    locks: new OperationLocks(),
    log,
    events: publisher ?? NO_EVENTS,
    identity: { pki, certs },
    metrics: new ControllerMetrics(() => store.db),
    imageDir: join(opts.stateDir, "images"),
    network: opts.network
      ? { pool: new Pool(opts.network.pool), vni: opts.network.vni ?? DEFAULT_VNI, mtu: opts.network.mtu ?? DEFAULT_MTU }
      : undefined,
    settings: {
      reportIntervalMs: opts.reportIntervalMs ?? 2000,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 10_000,
      algorithm: opts.scheduler ?? "binpack",
      schedulerSeed: opts.schedulerSeed,
    },
  };
  const migrations = new MigrationService(ctx);
  const events = new EventReader(opts.nats);
  const server = new Server(SERVER_OPTIONS);
  // Every CLI call passes the certificate rules and then the role table before it reaches a handler.
  const api = controllerServiceImplementation(controllerHandlers(ctx, migrations, events), controllerAccess(certs, userAccess(() => store.db, log)));
  server.addService(ControllerServiceDefinition, api);
  server.addService(RegistryServiceDefinition, registryServiceImplementation(registryHandlers(ctx), registryAccess(certs)));
  let port: number;
  try {
    port = await bind(server, opts.listen, pki);
  } catch (err) {
    store.close();
    throw err;
  }
  let metricsEndpoint: MetricsEndpoint | undefined;
  if (opts.metricsListen) {
    try {
      metricsEndpoint = await serveMetrics(opts.metricsListen, ctx.metrics.registry, (err) => log.warn({ err: messageOf(err) }, "metrics collection failed"));
    } catch (err) {
      await shutdown(server, 0);
      store.close();
      throw err;
    }
  }
  publisher?.start();
  const resumed = migrations.resumeAll();
  const stopLiveness = startLiveness(ctx);
  // After resumeAll: the migrations it took back hold their containers' locks, so the reconciler leaves them be.
  const stopReconciler = new Reconciler(ctx).start();
  const address = `${opts.listen.replace(/:\d+$/, "")}:${port}`;
  log.info(
    { address, db: opts.db, nats: opts.nats ?? null, metrics: metricsEndpoint?.url ?? null, resumedMigrations: resumed, caFingerprint: pki.fingerprint },
    "controller listening (mutual TLS)",
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopLiveness();
      await stopReconciler();
      await migrations.stop();
      await shutdown(server);
      await metricsEndpoint?.close();
      await publisher?.close();
      await events.close();
      ctx.agents.closeAll();
      store.close();
      log.info("controller stopped");
    })());
  return { address, metricsUrl: metricsEndpoint?.url, metrics: ctx.metrics, close, store };
}

/**
 * One TLS port and no plaintext one. Client certificates are asked for but optional at the handshake,
 * because a joining host has none yet; every call but Join is refused without one (pki/access.ts).
 */
function bind(server: Server, listen: string, pki: ClusterPki): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, serverCredentials(pki.controller, "optional"), (err, port) => (err ? reject(err) : resolve(port)));
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
