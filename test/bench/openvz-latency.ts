// OpenVZ runs here only as the vzctl STAND-IN (deploy/openvz-standin; no OpenVZ kernel). Each
// emulated host's agent drives it with its own VZ_ROOT (local-cluster.sh). The baseline makes the
// same vzctl calls the backend makes (create, set --save, start) by hand on the same host, with a
// VZ_ROOT of its own beside the agent's, timed inside the host's namespace.
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../support/cluster.js";
import { SOURCE, type BenchContext } from "./bench-context.js";
import { interleave } from "./latency.js";
import type { Report } from "./report.js";
import { hxBash } from "./shell.js";
import { standinVzConf } from "@corral/agent/test-support";

const VZCTL = join(REPO, "deploy/openvz-standin/vzctl");
const CACHE = "var/lib/vz/template/cache";
const CTID_BASE = 9700;

// $1 vzctl, $2 VZ_ROOT, $3 cgroup prefix, then CTID, template, name.
const DIRECT_SCRIPT = `
export VZ_ROOT=$2 VZ_PROC_ROOT=$2/proc VZ_CGROUP_PREFIX=$3
t0=$(date +%s%N)
"$1" create "$4" --ostemplate "$5" --layout simfs --name "$6" --hostname "$6" >/dev/null
"$1" set "$4" --ram unlimited --swap 0 --cpus 0 --cpulimit 0 --save >/dev/null
"$1" start "$4" >/dev/null
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000 ))`;
const REMOVE_SCRIPT = `export VZ_ROOT=$2 VZ_PROC_ROOT=$2/proc VZ_CGROUP_PREFIX=$3
"$1" stop "$4" --fast >/dev/null 2>&1 || true; "$1" destroy "$4" >/dev/null`;

function skip(report: Report, reason: string, short: string): void {
  console.log(`openvz: skipped (${reason})`);
  report.skip("create+start openvz (stand-in)", short);
}

export async function benchOpenvzLatency(ctx: BenchContext, report: Report): Promise<void> {
  console.log(`\n== create+start latency: openvz (vzctl STAND-IN, not OpenVZ; busybox OS template, on ${SOURCE}) ==`);
  const info = (await ctx.client.listHosts()).find((h) => h.name === SOURCE)?.backends.find((b) => b.name === "openvz");
  if (!info?.available) return skip(report, `${SOURCE} reports the openvz backend unavailable: ${info?.reason || "not reported"}`, "backend unavailable on the host");
  // The agent's host has vzctl's upstream /vz layout or Debian's /var/lib/vz (local-cluster.sh).
  const agentCache = [join(ctx.cluster.hostDir(SOURCE), "vz/vz/template/cache"), join(ctx.cluster.hostDir(SOURCE), "vz", CACHE)].find(existsSync) ?? "";
  const file = existsSync(agentCache) ? readdirSync(agentCache).find((f) => f.endsWith(".tar.gz")) : undefined;
  if (!file) return skip(report, `the backend is available (${info.reason}) but ${agentCache} holds no OS template`, "no OS template");
  const template = file.replace(/\.tar\.gz$/, "");
  console.log(`  ${info.reason}; OS template ${template}`);

  const vzRoot = join(ctx.cluster.hostDir(SOURCE), "bench-vz");
  mkdirSync(join(vzRoot, CACHE), { recursive: true });
  for (const d of ["etc/vz/conf", "var/lib/vz/private", "var/lib/vz/root", "proc"]) mkdirSync(join(vzRoot, d), { recursive: true });
  writeFileSync(join(vzRoot, "etc/vz/vz.conf"), standinVzConf(vzRoot, "debian"));
  if (!existsSync(join(vzRoot, CACHE, file))) symlinkSync(join(agentCache, file), join(vzRoot, CACHE, file));
  const ns = ctx.ns(SOURCE);
  const vz = (k: number) => [VZCTL, vzRoot, `vz/${SOURCE}-bench`, String(CTID_BASE + k)];
  await interleave(
    "openvz (stand-in)",
    {
      label: "corral client.create({backend openvz, template, start:true})",
      run: async (k) => {
        const t0 = performance.now();
        await ctx.create({ name: `bench-lat-vz-${k}`, backend: "openvz", template }, SOURCE);
        return performance.now() - t0;
      },
      cleanup: (k) => ctx.remove(`bench-lat-vz-${k}`),
    },
    {
      label: "direct vzctl create + set --save + start (in netns)",
      run: async (k) => {
        ctx.defer(`stand-in CT ${CTID_BASE + k}`, () => hxBash(ns, REMOVE_SCRIPT, vz(k)).catch(() => undefined));
        const us = Number((await hxBash(ns, DIRECT_SCRIPT, [...vz(k), template, `bench-vz-d${k}`])).trim().split("\n").pop());
        return us / 1000;
      },
      cleanup: async (k) => void (await hxBash(ns, REMOVE_SCRIPT, vz(k))),
    },
    ctx.opts.iterations,
    report,
  );
}
