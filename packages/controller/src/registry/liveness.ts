// Marks hosts down when their usage stream (the heartbeat) has been silent too long.
import type { ControllerContext } from "../context.js";
import { markStaleHostsDown } from "../store/hosts.js";
import { SUBJECTS } from "../events/subjects.js";

/**
 * Until a restarted controller has seen registrations arrive, it assumes they arrive at the slowest
 * rate measured: bench:heartbeats saw 10–70 registrations/s from 5,000 agents on a shared machine
 * (the 5 ms per host assumed before, 200/s, could mark hosts down that were only waiting in line).
 */
export const SLOWEST_REGISTRATION_MS_PER_HOST = 100;

// A restarted controller has heard nobody yet: it gives the hosts it knows a grace period (RestartGrace)
// sized from the registrations it actually sees, before judging, instead of marking hosts down that
// are only waiting in line.
//
// The check has its own timer, and measures itself: a tick that fires late means the event loop was
// stalled, so reports may be sitting unread in sockets. The stall is then credited to every host
// (StallCredit) until each live host has had one report interval to be heard again.
export function startLiveness(ctx: ControllerContext, everyMs = 1000): () => void {
  const startedAt = Date.now();
  // Each known live host and when it was last heard as loaded: heard since the restart once that changes.
  const known = new Map<string, number>();
  for (const h of ctx.store.state.hosts()) if (h.state !== "down") known.set(h.name, h.lastSeenUnixMs);
  const grace = new RestartGrace(startedAt, ctx.settings.heartbeatTimeoutMs, known.size);
  const credit = new StallCredit(ctx.settings.reportIntervalMs + everyMs);
  let lastTick = performance.now();
  const timer = setInterval(() => {
    const tick = performance.now();
    const lateMs = tick - lastTick - everyMs;
    lastTick = tick;
    const now = Date.now();
    if (lateMs > everyMs / 2) {
      credit.stalled(lateMs, now);
      ctx.log.warn({ lateMs: Math.round(lateMs) }, "event loop stalled: liveness credits the stall to every host");
    }
    if (!grace.done) {
      let heard = 0;
      for (const [name, seen] of known) {
        const h = ctx.store.state.host(name);
        if (!h || h.lastSeenUnixMs !== seen) heard++;
      }
      if (!grace.over(now, heard)) return;
      known.clear();
      ctx.log.info({ hosts: grace.expected, afterMs: now - startedAt }, "restart grace over: liveness judges hosts");
    }
    checkLiveness(ctx, now, credit.at(now));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * How long a restarted controller waits before judging hosts: one full timeout, and then for as long
 * as the hosts it knows are still re-registering. While some have not been heard, it waits from the
 * latest one heard for one timeout plus the time the rest need at the rate seen so far (the time since
 * the restart per host heard, at most SLOWEST_REGISTRATION_MS_PER_HOST; before any is heard, at
 * that slowest rate). A host that stays silent is therefore judged about one timeout after
 * registrations stop arriving, however slowly they arrived.
 */
export class RestartGrace {
  private heard = 0;
  private lastHeardAt: number;
  private ended = false;

  constructor(
    private readonly startedAt: number,
    private readonly timeoutMs: number,
    /** The live hosts known at the restart. */
    readonly expected: number,
  ) {
    this.lastHeardAt = startedAt;
  }

  get done(): boolean {
    return this.ended;
  }

  /** When the grace ends if no further host is heard. */
  get endsAt(): number {
    const pending = this.expected - this.heard;
    if (pending <= 0) return this.startedAt;
    // Measured, but never slower than the slowest rate measured: a few hosts heard after their
    // reconnect backoff would otherwise count seconds per host. Slower arrivals still extend the
    // grace, one timeout from each host heard.
    const seen = this.heard > 0 ? (this.lastHeardAt - this.startedAt) / this.heard : SLOWEST_REGISTRATION_MS_PER_HOST;
    const msPerHost = Math.min(seen, SLOWEST_REGISTRATION_MS_PER_HOST);
    return this.lastHeardAt + this.timeoutMs + pending * msPerHost;
  }

  /** `heard` of the known hosts have been heard since the restart, as of `now`: is the grace over? Once over, it stays over. */
  over(now: number, heard: number): boolean {
    if (this.ended) return true;
    if (heard > this.heard) {
      this.heard = heard;
      this.lastHeardAt = now;
    }
    this.ended = now >= this.endsAt;
    return this.ended;
  }
}

/**
 * How much of a host's silence was the controller's own stall. After a stall every live host's
 * report, read late or sent after it, is applied within one report interval; so the stall is
 * credited for that long (`windowMs`), not for a whole timeout: credited for 15 s, one 19 s stall
 * (a synchronous batch of 50,000 rows) let a host that really stopped go 40 s before it was marked
 * down against its 21 s window.
 */
export class StallCredit {
  private creditMs = 0;
  private until = 0;

  constructor(private readonly windowMs: number) {}

  /** The loop was `lateMs` late at `now`: stalls that overlap a window add up to the worst of them. */
  stalled(lateMs: number, now: number): void {
    this.creditMs = Math.max(now < this.until ? this.creditMs : 0, lateMs);
    this.until = now + this.windowMs;
  }

  /** The credit a judgment at `now` gives every host. */
  at(now: number): number {
    return now < this.until ? this.creditMs : 0;
  }
}

export function checkLiveness(ctx: ControllerContext, now = Date.now(), creditMs = 0): string[] {
  if (!ctx.store.open) return [];
  const cutoff = now - ctx.settings.heartbeatTimeoutMs - creditMs;
  const down = ctx.store.tx(() => {
    const names = markStaleHostsDown(ctx.store.db, cutoff);
    for (const host of names) ctx.store.emit(SUBJECTS.hostDown, { host, silentForMs: ctx.settings.heartbeatTimeoutMs });
    return names;
  });
  for (const host of down) ctx.log.warn({ host }, "host missed its heartbeats: marked down");
  return down;
}
