// Marks hosts down when their usage stream (the heartbeat) has been silent too long.
import type { ControllerContext } from "../context.js";
import { markStaleHostsDown } from "../store/hosts.js";
import { SUBJECTS } from "../events/subjects.js";

/** How long a restarted controller waits per known host for it to re-register (≈ 200 registrations/s). */
export const REGISTRATION_MS_PER_HOST = 5;

// A restarted controller has heard nobody yet: it gives every host one full timeout, plus the time
// the whole cluster needs to re-register at the rate the controller takes registrations, before
// judging, instead of marking hosts down that are only waiting in line.
//
// The check has its own timer, and measures itself: a tick that fires late means the event loop was
// stalled, so reports may be sitting unread in sockets. The stall is then credited to every host
// (StallCredit) until each live host has had one report interval to be heard again.
export function startLiveness(ctx: ControllerContext, everyMs = 1000): () => void {
  const startedAt = Date.now();
  const graceMs = ctx.settings.heartbeatTimeoutMs + ctx.store.state.hosts().length * REGISTRATION_MS_PER_HOST;
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
    if (now - startedAt < graceMs) return;
    checkLiveness(ctx, now, credit.at(now));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
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
