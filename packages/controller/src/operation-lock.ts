// Per-container operation locks tagged with the action, as Incus' operationlock: a start cannot
// race a migration, and the refusal says what the container is busy with.
import { failedPrecondition } from "@corral/wire";

/** Every action that can hold a container; its text appears in the busy error. */
export type OperationAction = "creating" | "starting" | "stopping" | "removing" | "setting limits" | "migrating";

export class OperationLocks {
  private readonly held = new Map<string, OperationAction>();

  /** Takes the lock or throws `container "c1" is busy (migrating)`. Returns the release function. */
  acquire(container: string, action: OperationAction): () => void {
    const current = this.held.get(container);
    if (current !== undefined) throw failedPrecondition(`container "${container}" is busy (${current})`);
    this.held.set(container, action);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.held.get(container) === action) this.held.delete(container);
    };
  }

  async with<T>(container: string, action: OperationAction, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(container, action);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * `with`, after waiting up to `waitMs` for a short action (a start, a stop) to end: `rm --force`
   * must win against the reconciler restarting a container that keeps exiting. A migration is never
   * waited for.
   */
  async withWait<T>(container: string, action: OperationAction, waitMs: number, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const current = this.held.get(container);
      if (current === undefined || current === "migrating" || Date.now() >= deadline) return this.with(container, action, fn);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  actionOf(container: string): OperationAction | undefined {
    return this.held.get(container);
  }

  /** Throws the busy error without taking the lock (for work that may run alongside, like exec). */
  assertFree(container: string): void {
    const current = this.held.get(container);
    if (current !== undefined) throw failedPrecondition(`container "${container}" is busy (${current})`);
  }
}
