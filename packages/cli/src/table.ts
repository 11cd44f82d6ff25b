// Plain aligned tables, as `nomad node status` prints them: a header row, two spaces between
// columns, no borders, no trailing spaces. Colour is applied after padding so widths stay right.

export type Align = "left" | "right";

export interface TableOptions {
  align?: readonly Align[];
  /** Wraps an already padded cell (e.g. in ANSI colour); called for body cells only. */
  paint?: (cell: string, raw: string, col: number, row: number) => string;
}

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string[] {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const last = headers.length - 1;
  const line = (cells: readonly string[], body: number | undefined) =>
    headers
      .map((_, c) => {
        const raw = cells[c] ?? "";
        const right = opts.align?.[c] === "right";
        // The last left-aligned column is not padded: no trailing spaces.
        const padded = right ? raw.padStart(widths[c] as number) : c === last ? raw : raw.padEnd(widths[c] as number);
        return body !== undefined && opts.paint ? opts.paint(padded, raw, c, body) : padded;
      })
      .join("  ");
  return [line(headers, undefined), ...rows.map((r, i) => line(r, i))];
}

const ANSI: Record<string, string> = { green: "32", red: "31", yellow: "33", dim: "2", bold: "1" };

export function colourise(enabled: boolean, colour: string, text: string): string {
  const code = ANSI[colour];
  return enabled && code ? `\x1b[${code}m${text}\x1b[0m` : text;
}
