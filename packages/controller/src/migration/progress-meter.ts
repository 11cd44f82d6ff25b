// Transfer rate over a sliding window, and the ETA it implies.
export class ProgressMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  add(bytes: number, at = Date.now()): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && (this.samples[0]?.at ?? at) < at - this.windowMs) this.samples.shift();
  }

  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  /** Seconds left, or -1 when that is not known (no rate yet, or the estimated total is used up). */
  eta(totalBytes: number): number {
    const last = this.samples[this.samples.length - 1];
    const r = this.rate();
    if (!last || r <= 0 || totalBytes <= last.bytes) return -1;
    return (totalBytes - last.bytes) / r;
  }
}
