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
// stalled, so reports may be sitting unread in sockets. The stall is then credited to every host for
// one timeout window instead of counting it as their silence.
export function startLiveness(ctx: ControllerContext, everyMs = 1000): () => void {
  const startedAt = Date.now();
  const graceMs = ctx.settings.heartbeatTimeoutMs + ctx.store.state.hosts().length * REGISTRATION_MS_PER_HOST;
  let lastTick = performance.now();
  let creditMs = 0;
  let creditUntil = 0;
  const timer = setInterval(() => {
    const tick = performance.now();
    const lateMs = tick - lastTick - everyMs;
    lastTick = tick;
    const now = Date.now();
    if (lateMs > everyMs / 2) {
      creditMs = Math.max(now < creditUntil ? creditMs : 0, lateMs);
      creditUntil = now + ctx.settings.heartbeatTimeoutMs;
      ctx.log.warn({ lateMs: Math.round(lateMs) }, "event loop stalled: liveness credits the stall to every host");
    }
    if (now - startedAt < graceMs) return;
    checkLiveness(ctx, now, now < creditUntil ? creditMs : 0);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
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
