// Event-loop lag, measured: how late timers fire. The registry sheds per-container usage when the
// loop falls behind (heartbeats still count), and liveness does not judge hosts whose reports were
// waiting on a stalled loop.
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

export class LoopLag {
  private readonly h: IntervalHistogram;
  private recentMaxMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = 1000) {
    this.h = monitorEventLoopDelay({ resolution: 10 });
    this.h.enable();
    this.timer = setInterval(() => {
      this.recentMaxMs = this.h.max / 1e6;
      this.h.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** The worst lag seen in the last window, in milliseconds. */
  get ms(): number {
    return Math.max(this.recentMaxMs, this.h.max / 1e6);
  }

  close(): void {
    clearInterval(this.timer);
    this.h.disable();
  }
}

let shared: LoopLag | undefined;

/** The process's loop lag monitor (there is one event loop per process), started on first use. */
export function loopLag(): LoopLag {
  return (shared ??= new LoopLag());
}
