// Undo beside do (Incus' shared/revert): register each undo right after its step succeeds; on any
// failure before succeed(), fail() runs the undos in reverse. A failing undo is reported and the rest
// still run.
export type Undo = () => unknown;

export class Reverter {
  private undos: Undo[] = [];

  constructor(private readonly onUndoError: (err: unknown) => void = () => undefined) {}

  add(undo: Undo): void {
    this.undos.push(undo);
  }

  /** The steps all succeeded: forget the undos. */
  succeed(): void {
    this.undos = [];
  }

  /** Runs the undos still registered, last first. Safe to call after succeed() (does nothing). */
  async fail(): Promise<void> {
    const undos = this.undos.reverse();
    this.undos = [];
    for (const undo of undos) {
      try {
        await undo();
      } catch (err) {
        this.onUndoError(err);
      }
    }
  }
}
