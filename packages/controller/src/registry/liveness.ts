// Marks hosts down when their usage stream (the heartbeat) has been silent too long.
import type { ControllerContext } from "../context.js";
import { markStaleHostsDown } from "../store/hosts.js";
import { SUBJECTS } from "../events/subjects.js";

// A restarted controller has heard nobody yet: it gives every host one full timeout to report
// before judging, instead of marking the whole cluster down on its first tick.
export function startLiveness(ctx: ControllerContext, everyMs = 1000): () => void {
  const startedAt = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - startedAt >= ctx.settings.heartbeatTimeoutMs) checkLiveness(ctx);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function checkLiveness(ctx: ControllerContext, now = Date.now()): string[] {
  if (!ctx.store.open) return [];
  const cutoff = now - ctx.settings.heartbeatTimeoutMs;
  const down = ctx.store.tx(() => {
    const names = markStaleHostsDown(ctx.store.db, cutoff);
    for (const host of names) ctx.store.emit(SUBJECTS.hostDown, { host, silentForMs: ctx.settings.heartbeatTimeoutMs });
    return names;
  });
  for (const host of down) ctx.log.warn({ host }, "host missed its heartbeats: marked down");
  return down;
}
