// Reads the CORRAL JetStream stream for `corral events`: an ordered consumer (ephemeral, flow
// controlled, recreated by the client after a gap or a reconnect, so each message arrives once
// and in stream order) from a sequence or a time, filtered by subject. Without follow it stops
// at the message that was last when it got there.
import { connect, DeliverPolicy, type NatsConnection, type OrderedConsumerOptions } from "nats";
import { failedPrecondition, messageOf, unavailable, type CorralEvent, type EventQuery } from "@corral/wire";
import type { EventEnvelope } from "./outbox-publisher.js";
import { STREAM_NAME } from "./subjects.js";

/** How long a replay waits for the next message before taking the stream as read to its end. */
const REPLAY_IDLE_MS = 1_000;

export class EventReader {
  private nc: Promise<NatsConnection> | undefined;

  constructor(private readonly servers: string | undefined) {}

  async *read(q: EventQuery, signal: AbortSignal): AsyncGenerator<CorralEvent> {
    if (!this.servers) throw failedPrecondition("events need NATS: this controller runs without --nats, so its events stay in its outbox");
    const nc = await this.connection();
    // A JetStream call while NATS is away fails in seconds rather than waiting for its return.
    const js = nc.jetstream({ timeout: 3_000 });
    // nats-server before 2.10 (Debian 12 has 2.9) takes one filter subject, not a list: one
    // filter goes to the server, several are applied here.
    const opts: Partial<OrderedConsumerOptions> = q.subjects.length === 1 ? { filterSubjects: q.subjects[0] as string } : {};
    const wanted = q.subjects.length > 1 ? (subject: string) => q.subjects.some((s) => subjectMatches(s, subject)) : () => true;
    if (q.sinceSeq > 0) Object.assign(opts, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: q.sinceSeq });
    else if (q.sinceUnixMs > 0) Object.assign(opts, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(q.sinceUnixMs).toISOString() });
    // From the start: deliver_policy is left unset, since an ordered consumer that resets after a
    // gap sets its own start sequence, which the server refuses beside an explicit "all".

    let consumer;
    try {
      consumer = await js.consumers.get(STREAM_NAME, opts);
    } catch (err) {
      throw unavailable(`cannot read the ${STREAM_NAME} event stream: ${messageOf(err)}`, err);
    }
    try {
      if (!q.follow) {
        for (;;) {
          const m = await consumer.next({ expires: REPLAY_IDLE_MS });
          if (!m || signal.aborted) return;
          if (wanted(m.subject)) yield toEvent(m.info.streamSequence, m.subject, m.string());
          if (m.info.pending === 0) return;
        }
      }
      const messages = await consumer.consume();
      const stop = () => void messages.close().catch(() => undefined);
      signal.addEventListener("abort", stop, { once: true });
      try {
        for await (const m of messages) {
          if (wanted(m.subject)) yield toEvent(m.info.streamSequence, m.subject, m.string());
          if (signal.aborted) return;
        }
      } finally {
        signal.removeEventListener("abort", stop);
        stop();
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const nc = await this.nc?.catch(() => undefined);
    await nc?.close();
  }

  /** One connection for every reader, made on first use; a failed attempt is retried next time. */
  private connection(): Promise<NatsConnection> {
    this.nc ??= connect({
      servers: (this.servers ?? "").split(",").map((s) => s.trim()),
      name: "corral-controller-events",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    }).catch((err: unknown) => {
      this.nc = undefined;
      throw unavailable(`NATS at ${this.servers ?? ""} is unreachable: ${messageOf(err)}`, err);
    });
    return this.nc;
  }
}

function toEvent(seq: number, subject: string, body: string): CorralEvent {
  try {
    const env = JSON.parse(body) as EventEnvelope;
    return { seq, subject, atUnixMs: env.atUnixMs, data: env.data };
  } catch {
    return { seq, subject, atUnixMs: 0, data: body };
  }
}

/** NATS subject matching: `*` one token, `>` the rest. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
