// LXC create+start: Corral (controller → agent → lxc-*) against lxc-create + lxc-start -d run by
// hand on the same host (inside its namespace), timed inside the namespace so that the
// `ip netns exec` wrapper of this emulation is not charged to the baseline.
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SOURCE, type BenchContext } from "./bench-context.js";
import { interleave, WARMUPS } from "./latency.js";
import type { Report } from "./report.js";
import { hxBash } from "./shell.js";
import { list, median, ms } from "./stats.js";

const DIRECT_SCRIPT = `
t0=$(date +%s%N)
lxc-create -P "$1" -n "$2" -t busybox -f "$3" >/dev/null
lxc-start -P "$1" -n "$2" -d
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000 ))`;
const REMOVE_SCRIPT = `lxc-stop -P "$1" -n "$2" -k >/dev/null 2>&1 || true; lxc-destroy -P "$1" -n "$2" >/dev/null`;

/** Outside the agent's lxcpath so that the agent never lists the baseline's containers. */
const directPath = (ctx: BenchContext) => join(ctx.cluster.hostDir(SOURCE), "bench-lxc");

export async function benchLxcLatency(ctx: BenchContext, report: Report): Promise<void> {
  console.log(`\n== create+start latency: lxc (busybox template, on ${SOURCE}) ==`);
  const ns = ctx.ns(SOURCE);
  const lp = directPath(ctx);
  const conf = join(ctx.cluster.hostDir(SOURCE), "bench-lxc.conf");
  // What Corral's LXC backend also sets: no lxcbr0 here, and no AppArmor.
  writeFileSync(conf, "lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n");
  await hxBash(ns, `mkdir -p "$1"`, [lp]);
  ctx.defer("baseline LXC containers", () => cleanupDirectLxc(ctx));
  const outer: number[] = [];
  await interleave(
    "lxc",
    {
      label: "corral client.create({start:true})",
      run: async (k) => {
        const t0 = performance.now();
        await ctx.create({ name: `bench-lat-lxc-${k}`, backend: "lxc", template: "busybox" }, SOURCE);
        return performance.now() - t0;
      },
      cleanup: (k) => ctx.remove(`bench-lat-lxc-${k}`),
    },
    {
      label: "direct lxc-create -t busybox + lxc-start -d (in netns)",
      run: async (k) => {
        const t0 = performance.now();
        const us = Number((await hxBash(ns, DIRECT_SCRIPT, [lp, `bd${k}`, conf])).trim().split("\n").pop());
        if (k >= WARMUPS) outer.push(performance.now() - t0);
        return us / 1000;
      },
      cleanup: async (k) => void (await hxBash(ns, REMOVE_SCRIPT, [lp, `bd${k}`])),
    },
    ctx.opts.iterations,
    report,
  );
  console.log(`  (direct including the deploy/hx namespace wrapper: median ${ms(median(outer))}  ${list(outer)})`);
}

/** Stops and destroys whatever baseline containers a failure left. */
async function cleanupDirectLxc(ctx: BenchContext): Promise<void> {
  const lp = directPath(ctx);
  if (!existsSync(lp)) return;
  for (const name of readdirSync(lp)) {
    if (!existsSync(join(lp, name, "config"))) continue;
    await hxBash(ctx.ns(SOURCE), REMOVE_SCRIPT, [lp, name]).catch((e: Error) => console.error(`cleanup: ${e.message}`));
  }
}
