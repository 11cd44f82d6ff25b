// Group commit: the changes queued within one turn of the event loop (or up to `maxBatch` of them)
// share one SQLite transaction, instead of one transaction (and one WAL sync) each. Each change runs
// in its own savepoint (unless it declares itself atomic), so one that throws is rolled back alone
// and rejects only its own caller;
// every caller is answered only after the shared commit, so nothing is acknowledged before it is durable.
import type { Store } from "./store.js";

interface Queued {
  fn: () => unknown;
  savepoint: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Set by flush: what fn returned, or threw (failed). */
  failed?: boolean;
  value?: unknown;
}

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 8192,
  ) {}

  /**
   * Runs fn inside the next shared transaction; resolves with its result once that has committed.
   * `atomic` says that fn can only throw before its first write or from a single statement (which
   * SQLite undoes alone), so it needs no savepoint of its own; the placement path is such a change.
   */
  run<T>(fn: () => T, opts: { atomic?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, savepoint: opts.atomic !== true, resolve: resolve as (v: unknown) => void, reject, failed: undefined, value: undefined });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.store.tx(() => {
        for (const q of batch) {
          try {
            q.value = q.savepoint ? this.store.tx(q.fn) : q.fn();
            q.failed = false;
          } catch (err) {
            q.value = err;
            q.failed = true;
          }
        }
      });
    } catch (err) {
      // The commit itself failed: nothing of the batch is durable.
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) {
      if (q.failed) q.reject(q.value);
      else q.resolve(q.value);
    }
  }
}
