// Per-key exponential backoff: each thing the reconciler retries waits on its own.
export class Backoff {
  private readonly waits = new Map<string, { next: number; delay: number }>();

  constructor(
    private readonly firstMs = 2000,
    private readonly maxMs = 60_000,
  ) {}

  due(key: string, now: number): boolean {
    return (this.waits.get(key)?.next ?? 0) <= now;
  }

  failed(key: string, now: number): void {
    const delay = Math.min(this.maxMs, (this.waits.get(key)?.delay ?? this.firstMs / 2) * 2);
    this.waits.set(key, { next: now + delay, delay });
  }

  /** Not a failure, but nothing to do before `ms` from now. */
  later(key: string, now: number, ms: number): void {
    this.waits.set(key, { next: now + ms, delay: this.firstMs / 2 });
  }

  succeeded(key: string): void {
    this.waits.delete(key);
  }
}
