// Marks hosts down when their usage stream (the heartbeat) has been silent too long.
import type { ControllerContext } from "../context.js";
import { markStaleHostsDown } from "../store/hosts.js";
import { SUBJECTS } from "../events/subjects.js";

export function startLiveness(ctx: ControllerContext, everyMs = 1000): () => void {
  const timer = setInterval(() => checkLiveness(ctx), everyMs);
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
