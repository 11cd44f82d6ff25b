// Small numeric and formatting helpers for the bench output. Figures are printed, never asserted.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`;
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function rate(bytes: number, millis: number): string {
  return millis > 0 ? `${(bytes / 1048576 / (millis / 1000)).toFixed(0)} MiB/s` : "n/a";
}

export function ratio(corral: number, baseline: number): string {
  return baseline > 0 && Number.isFinite(corral) && Number.isFinite(baseline) ? `${(corral / baseline).toFixed(2)}×` : "n/a";
}

export function list(xs: readonly number[]): string {
  return `[${xs.map((x) => x.toFixed(0)).join(" ")}]`;
}

/** Left-aligned text columns padded to the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
