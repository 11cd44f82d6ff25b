// create+start latency through the backend against the same work done by calling the vzctl
// STAND-IN directly (create, set --save, start), interleaved, 10 iterations, medians.
// Run: npm run bench:openvz-create-start [-- iterations]
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { busyboxSpec, removeStandinHost, STANDIN_TEMPLATE, STANDIN_VZCTL, standinHost, standinSkipReason } from "@corral/agent/test-support";
import { median } from "../stats.js";

const run = promisify(execFile);

async function main(): Promise<void> {
  const skip = standinSkipReason();
  if (skip) throw new Error(skip);
  const n = Number(process.argv[2] ?? 10);
  const root = mkdtempSync(join(tmpdir(), "corral-ovz-bench-"));
  const viaBackend = standinHost(root, `bench-b${process.pid}`);
  const direct = standinHost(root, `bench-d${process.pid}`);
  const vz = (...args: string[]) => run(STANDIN_VZCTL, args, { env: direct.env });
  const tb: number[] = [];
  const td: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const name = `b${i}`;
      const ctid = String(200 + i);
      const throughBackend = async () => {
        const t0 = performance.now();
        await viaBackend.backend.create(busyboxSpec(name));
        await viaBackend.backend.start(name);
        tb.push(performance.now() - t0);
      };
      const directly = async () => {
        const t0 = performance.now();
        await vz("create", ctid, "--ostemplate", STANDIN_TEMPLATE, "--layout", "simfs", "--name", name, "--hostname", name);
        await vz("set", ctid, "--ram", "64M", "--swap", "0", "--cpus", "1", "--save");
        await vz("start", ctid);
        td.push(performance.now() - t0);
      };
      // Alternate which goes first, so neither gets a warmer cache every time.
      if (i % 2 === 0) {
        await throughBackend();
        await directly();
      } else {
        await directly();
        await throughBackend();
      }

      await viaBackend.backend.stop(name, 0);
      await viaBackend.backend.remove(name);
      await vz("stop", ctid, "--fast");
      await vz("destroy", ctid);
    }
  } finally {
    removeStandinHost(viaBackend);
    removeStandinHost(direct);
    rmSync(root, { recursive: true, force: true });
  }
  const mb = median(tb);
  const md = median(td);
  console.log(JSON.stringify({ iterations: n, backendMedianMs: +mb.toFixed(1), directMedianMs: +md.toFixed(1), ratio: +(mb / md).toFixed(3) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
