// "What am I waiting for": anything that takes over a second says so on a terminal, one line
// redrawn in place with the seconds spent, and erased when the work ends. Pipes and logs get
// nothing, so scripts see exactly the output they always did.
import type { OutStream } from "./command.js";

export const FEEDBACK_AFTER_MS = 1_000;
const REDRAW_MS = 250;
const FRAMES = ["|", "/", "-", "\\"];

export interface FeedbackOptions {
  afterMs?: number;
  redrawMs?: number;
}

/** Whether `sink` is a terminal that can take a redrawn line. */
export const canRedraw = (sink: OutStream, env: NodeJS.ProcessEnv): boolean => sink.isTTY === true && env.TERM !== "dumb";

export class Feedback {
  constructor(
    private readonly sink: OutStream | undefined,
    private readonly opts: FeedbackOptions = {},
  ) {}

  /** Resolves as `work` does; shows "| 3s  WHAT" while it takes longer than a second. */
  async waitFor<T>(what: string, work: Promise<T>): Promise<T> {
    const sink = this.sink;
    if (!sink) return work;
    const t0 = Date.now();
    let frame = 0;
    let drawn = false;
    const draw = () => {
      const secs = Math.floor((Date.now() - t0) / 1000);
      // The seconds come first so that a narrow terminal cuts the label, not the count.
      const line = `${FRAMES[frame++ % FRAMES.length]} ${secs}s  ${what}`;
      const width = (sink.columns || 80) - 1; // a pty with no size says 0
      sink.write(`\r${line.length > width ? line.slice(0, width) : line}\x1b[K`);
      drawn = true;
    };
    let ticker: NodeJS.Timeout | undefined;
    const start = setTimeout(() => {
      draw();
      ticker = setInterval(draw, this.opts.redrawMs ?? REDRAW_MS);
      ticker.unref();
    }, this.opts.afterMs ?? FEEDBACK_AFTER_MS);
    start.unref();
    try {
      return await work;
    } finally {
      clearTimeout(start);
      clearInterval(ticker);
      if (drawn) sink.write("\r\x1b[K");
    }
  }
}
