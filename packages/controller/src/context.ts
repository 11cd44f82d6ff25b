// What every part of the controller shares. Built once in controller.ts.
import type { Logger } from "pino";
import type { Store } from "./store/store.js";
import type { AgentPool } from "./registry/agent-pool.js";
import type { OperationLocks } from "./operation-lock.js";
import type { Algorithm } from "./scheduler/index.js";
import type { ClusterPki } from "@corral/wire";
import type { CertificateRecords } from "./pki/revocation.js";
import type { ControllerMetrics } from "./metrics/controller-metrics.js";
import type { NetworkSettings } from "./network/pool.js";

/** Direct, best-effort publishing for high-rate events (migration progress) that skip the outbox. */
export interface EventSink {
  publishNow(subject: string, payload: unknown): void;
}

export interface ControllerContext {
  store: Store;
  agents: AgentPool;
  locks: OperationLocks;
  log: Logger;
  events: EventSink;
  /** The cluster CA and the controller's credentials; host certificates on record and revoked. */
  identity: { pki: ClusterPki; certs: CertificateRecords };
  metrics: ControllerMetrics;
  /** Where the controller keeps images (api/image-store.ts). */
  imageDir: string;
  /** The container network; undefined: containers get no address (no pool configured). */
  network: NetworkSettings | undefined;
  settings: {
    reportIntervalMs: number;
    heartbeatTimeoutMs: number;
    algorithm: Algorithm;
    /** Fixed scheduler seed (tests, replay); random per placement when undefined. */
    schedulerSeed: number | undefined;
  };
}
