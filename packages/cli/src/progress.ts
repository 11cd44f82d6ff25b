// Migration progress on stderr. On a terminal one line is redrawn with \r; in a pipe or a log
// a line is written per phase change and at most one progress line every 2 s.
import { formatBytes, type MigrationUpdate } from "@corral/wire";

export const PLAIN_INTERVAL_MS = 2_000;
const TTY_INTERVAL_MS = 100;

export const formatRate = (bytesPerSecond: number): string =>
  bytesPerSecond > 0 ? `${formatBytes(Math.round(bytesPerSecond))}/s` : "-- B/s";

/** 3 → "0:03", 3723 → "1:02:03"; unknown → "--:--". */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function fraction(u: MigrationUpdate): number | undefined {
  const { bytes, totalBytes } = u.migration;
  if (u.migration.phase === "done") return 1;
  return totalBytes > 0 ? Math.min(1, bytes / totalBytes) : undefined;
}

/** The total to show: never below the bytes counted, and `~` when it is the source's estimate. */
export function formatTotal(u: MigrationUpdate): string {
  const m = u.migration;
  if (m.totalBytes <= 0) return "?";
  return `${m.totalIsEstimate ? "~" : ""}${formatBytes(Math.max(m.totalBytes, m.bytes))}`;
}

/** Which live pass of a pre-copy is under way: a later one sends only what changed since. */
const stage = (m: MigrationUpdate["migration"]): string => (m.phase === "precopying" && m.precopyPasses > 0 ? `precopying (pass ${m.precopyPasses})` : m.phase);

/** What the migration is doing: its phase, `precopying (pass 2)`, or `stopping (12s)` while a running source is stopped. */
export function activity(u: MigrationUpdate, now: number): string {
  const m = u.migration;
  if (m.phase === "source_stopped" && m.wasRunning && m.phaseStartedUnixMs > 0) {
    return `stopping (${Math.max(0, Math.floor((now - m.phaseStartedUnixMs) / 1000))}s)`;
  }
  return stage(m);
}

const percent = (f: number | undefined) => (f === undefined ? " --%" : `${Math.floor(f * 100)}%`.padStart(4));

export function formatBar(f: number | undefined, width: number): string {
  const inner = Math.max(1, width - 2);
  const filled = f === undefined ? 0 : Math.round(f * inner);
  return `[${"#".repeat(filled)}${"-".repeat(inner - filled)}]`;
}

/** `[#####-----]  45%  1.2 MiB / 2.6 MiB  3.4 MiB/s  ETA 0:03  transferring`, fitted to `columns`. */
export function formatProgressLine(u: MigrationUpdate, columns: number, now = Date.now()): string {
  const m = u.migration;
  const f = fraction(u);
  const text = `${percent(f)}  ${formatBytes(m.bytes)} / ${formatTotal(u)}  ${formatRate(u.rateBytesPerSecond)}  ETA ${formatEta(u.etaSeconds)}  ${activity(u, now)}`;
  // A fixed bar width (not one that follows the text's length) keeps the redrawn line steady.
  const barWidth = Math.min(32, columns - 68);
  const line = barWidth >= 10 ? `${formatBar(f, barWidth)} ${text}` : text;
  // Never wrap: a wrapped line cannot be redrawn with \r.
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 1)) : line;
}

/** `c1: transferring 1.2 MiB / 2.6 MiB (45%), 3.4 MiB/s, ETA 0:03`. */
export function formatPlainProgress(u: MigrationUpdate): string {
  const m = u.migration;
  const f = fraction(u);
  const of = m.totalBytes > 0 ? ` / ${formatTotal(u)} (${Math.floor((f ?? 0) * 100)}%)` : "";
  return `${m.container}: ${stage(m)} ${formatBytes(m.bytes)}${of}, ${formatRate(u.rateBytesPerSecond)}, ETA ${formatEta(u.etaSeconds)}`;
}

export function formatPhaseLine(u: MigrationUpdate): string {
  const m = u.migration;
  return `${m.container}: ${stage(m)}${m.phase === "planned" ? ` (${m.sourceHost} → ${m.targetHost}, compression ${m.compression})` : ""}${m.error ? `: ${m.error}` : ""}`;
}

export interface ProgressSink {
  write(text: string): unknown;
  isTTY: boolean;
  columns: number;
}

export class ProgressReporter {
  private lastPhase: string | undefined;
  private lastDrawMs = -Infinity;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly now: () => number = Date.now,
  ) {}

  update(u: MigrationUpdate): void {
    // A new live pass of a pre-copy is a step of its own, as a new phase is. The first is not: the
    // phase comes in before the pass count does, and would print "precopying" twice.
    const m = u.migration;
    const step = m.phase === "precopying" && m.precopyPasses > 1 ? stage(m) : m.phase;
    const phaseChanged = step !== this.lastPhase;
    this.lastPhase = step;
    const t = this.now();
    if (this.sink.isTTY) {
      if (!phaseChanged && t - this.lastDrawMs < TTY_INTERVAL_MS) return;
      this.lastDrawMs = t;
      this.sink.write(`\r${formatProgressLine(u, this.sink.columns, t)}\x1b[K`);
      this.drawn = true;
      return;
    }
    if (phaseChanged) {
      this.lastDrawMs = t;
      this.sink.write(`${formatPhaseLine(u)}\n`);
    } else if ((u.migration.phase === "transferring" || u.migration.phase === "precopying") && t - this.lastDrawMs >= PLAIN_INTERVAL_MS) {
      this.lastDrawMs = t;
      this.sink.write(`${formatPlainProgress(u)}\n`);
    } else if (u.migration.phase === "source_stopped" && t - this.lastDrawMs >= PLAIN_INTERVAL_MS) {
      this.lastDrawMs = t;
      this.sink.write(`${u.migration.container}: ${activity(u, t)}\n`);
    }
  }

  /** Ends the redrawn line so that what follows starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.sink.write("\n");
    this.drawn = false;
  }
}

/**
 * What Ctrl-C prints instead of "interrupted" while a command watches work that goes on without
 * it (main.ts reads it): a migration belongs to the controller, not to the call that watches it.
 */
let interruptNote: string | undefined;
export const setInterruptNote = (note: string | undefined): void => {
  interruptNote = note;
};
export const getInterruptNote = (): string | undefined => interruptNote;

export const followHint = (id: string) => `corral migration show ${id} --follow`;
