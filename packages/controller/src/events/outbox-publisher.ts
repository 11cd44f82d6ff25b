// Publishes outbox rows to the CORRAL JetStream stream, in id order, each once (msgID = row id,
// so a row re-sent after a crash between publish and mark is dropped by JetStream's dedupe).
// When NATS is away the rows simply wait in SQLite.
import { connect, nanos, StorageType, type JetStreamClient, type NatsConnection } from "nats";
import type { Logger } from "pino";
import type { EventSink } from "../context.js";
import type { Store } from "../store/store.js";
import { markPublished, unpublishedEvents, type OutboxEvent } from "../store/outbox.js";
import { STREAM_NAME, STREAM_SUBJECTS } from "./subjects.js";

export interface PublisherOptions {
  servers: string;
  log: Logger;
  /** Sweep this often even without a notification (default 3000 ms). */
  pollMs?: number;
}

const BATCH = 200;
const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

/** The message body on NATS: the outbox row with its payload. */
export interface EventEnvelope {
  id: number;
  subject: string;
  atUnixMs: number;
  data: unknown;
}

export class OutboxPublisher implements EventSink {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private streamReady = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private pending = false;
  private loop: Promise<void> | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly opts: PublisherOptions,
  ) {
    this.unsubscribe = store.onEvent(() => this.notify());
  }

  start(): void {
    this.loop = this.run();
  }

  /** Progress and other high-rate events: straight to NATS if connected, else dropped. */
  publishNow(subject: string, payload: unknown): void {
    if (!this.nc || this.nc.isClosed()) return;
    const env: EventEnvelope = { id: 0, subject, atUnixMs: Date.now(), data: payload };
    try {
      this.nc.publish(subject, JSON.stringify(env));
    } catch {
      // best effort by design
    }
  }

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.wake?.();
    await this.loop?.catch(() => undefined);
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close());
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    this.nc = await this.connectUntilClosed();
    if (!this.nc) return;
    log.info({ server: this.nc.getServer() }, "connected to NATS");
    void this.watchStatus(this.nc);
    this.js = this.nc.jetstream();
    while (!this.closed) {
      await this.flush().catch((err: unknown) => {
        this.streamReady = false;
        log.warn({ err: String(err) }, "publishing events failed; will retry");
      });
      if (!this.pending) await this.sleep(this.opts.pollMs ?? 3000);
    }
  }

  // The first connection is retried here rather than with waitOnFirstConnect, so that close()
  // can stop it; once connected, the client itself reconnects forever.
  private async connectUntilClosed(): Promise<NatsConnection | undefined> {
    let warned = false;
    while (!this.closed) {
      try {
        const nc = await connect({
          servers: this.opts.servers.split(",").map((s) => s.trim()),
          name: "corral-controller",
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1000,
        });
        if (!this.closed) return nc;
        await nc.close();
      } catch (err) {
        if (!warned) this.opts.log.warn({ err: String(err) }, "NATS not reachable yet; events wait in the outbox");
        warned = true;
        await this.sleep(1000);
      }
    }
    return undefined;
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "reconnect") {
        this.streamReady = false;
        this.notify();
      }
      if (s.type === "disconnect" || s.type === "reconnect") this.opts.log.info({ nats: s.type }, "NATS connection");
    }
  }

  private async flush(): Promise<void> {
    this.pending = false;
    if (!this.js || !this.nc || this.nc.isClosed()) return;
    await this.ensureStream();
    for (;;) {
      if (!this.store.open) return;
      const rows = unpublishedEvents(this.store.db, BATCH);
      for (const row of rows) {
        if (this.closed && !this.store.open) return;
        await this.js.publish(row.subject, JSON.stringify(envelope(row)), { msgID: String(row.id) });
        if (!this.store.open) return;
        markPublished(this.store.db, row.id, Date.now());
      }
      if (rows.length < BATCH) return;
    }
  }

  private async ensureStream(): Promise<void> {
    if (this.streamReady || !this.nc) return;
    const jsm = await this.nc.jetstreamManager();
    try {
      await jsm.streams.info(STREAM_NAME);
    } catch {
      await jsm.streams.add({
        name: STREAM_NAME,
        subjects: STREAM_SUBJECTS,
        storage: StorageType.File,
        max_age: nanos(SEVEN_DAYS_MS),
      });
      this.opts.log.info({ stream: STREAM_NAME }, "created JetStream stream");
    }
    this.streamReady = true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

function envelope(row: OutboxEvent): EventEnvelope {
  return { id: row.id, subject: row.subject, atUnixMs: row.createdUnixMs, data: JSON.parse(row.payload) as unknown };
}

/** Used when no --nats is given: events stay in the outbox, progress goes nowhere. */
export const NO_EVENTS: EventSink = { publishNow: () => undefined };
