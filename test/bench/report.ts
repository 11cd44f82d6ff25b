// The final table: one row per metric with Corral's figure, the baseline's and their ratio.
import { table } from "./stats.js";

export interface Row {
  metric: string;
  corral: string;
  baseline: string;
  ratio: string;
}

export class Report {
  private readonly rows: Row[] = [];

  add(row: Row): void {
    this.rows.push(row);
  }

  skip(metric: string, reason: string): void {
    this.rows.push({ metric, corral: "skipped", baseline: reason, ratio: "" });
  }

  print(): void {
    console.log("\n== summary ==");
    console.log(table(["metric", "corral", "baseline", "ratio"], this.rows.map((r) => [r.metric, r.corral, r.baseline, r.ratio])));
  }
}
