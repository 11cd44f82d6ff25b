// Test fixture: emulated OpenVZ hosts on this machine, each one a VZ_ROOT driven by the vzctl/vzlist
// STAND-IN in deploy/openvz-standin, with a busybox OS template in its template cache.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContainerSpec } from "@corral/wire";
import type { Backend, BackendContext, LiveLimits } from "../backends/backend.js";
import { createOpenvzBackend } from "../backends/openvz/index.js";
import { testContext, testSpec } from "./context.js";

export const STANDIN_DIR = fileURLToPath(new URL("../../../../deploy/openvz-standin/", import.meta.url));
export const STANDIN_VZCTL = join(STANDIN_DIR, "vzctl");
export const STANDIN_VZLIST = join(STANDIN_DIR, "vzlist");
export const STANDIN_TEMPLATE = "busybox-standin";

let templateTarball: string | undefined;

/** Builds the busybox OS template once per process. */
function busyboxTemplate(): string {
  if (!templateTarball) {
    const dir = mkdtempSync(join(tmpdir(), "corral-ovz-tmpl-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, `${STANDIN_TEMPLATE}.tar.gz`);
    execFileSync(join(STANDIN_DIR, "make-busybox-template.sh"), [out]);
    templateTarball = out;
  }
  return templateTarball;
}

export function standinSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "the vzctl stand-in needs root (namespaces, cgroups)";
  if (!existsSync("/bin/busybox")) return "busybox-static is not installed";
  if (!existsSync("/sys/fs/cgroup/pids") || !existsSync("/sys/fs/cgroup/memory")) return "the vzctl stand-in needs cgroup v1";
  return undefined;
}

/**
 * Which vz.conf an emulated host has: vzctl's upstream defaults (/vz/{private,root,template}, as on
 * RHEL/CentOS hosts) or Debian's package (/var/lib/vz/...). Both are relocated under the host's VZ_ROOT.
 */
export type VzLayout = "upstream" | "debian";

/** The global configuration vz.conf(5) of an emulated host whose files live under `vzRoot`. */
export function standinVzConf(vzRoot: string, layout: VzLayout): string {
  const base = layout === "upstream" ? `${vzRoot}/vz` : `${vzRoot}/var/lib/vz`;
  return [
    `## Global parameters (${layout === "upstream" ? "vzctl's upstream /vz defaults" : "Debian's /var/lib/vz"}, under the stand-in's VZ_ROOT)`,
    "VIRTUOZZO=yes",
    `LOCKDIR=${base}/lock`,
    `DUMPDIR=${base}/dump`,
    "VE0CPUUNITS=1000",
    "LOGGING=yes",
    "LOG_LEVEL=0",
    "DISK_QUOTA=yes",
    `TEMPLATE=${base}/template`,
    `VE_ROOT=${base}/root/$VEID`,
    `VE_PRIVATE=${base}/private/$VEID`,
    `VE_LAYOUT=${layout === "upstream" ? "ploop" : "simfs"}`,
    'CONFIGFILE="vswap-256m"',
    "",
  ].join("\n");
}

/** Where an emulated host keeps its OpenVZ directories (private areas, templates), by layout. */
export const vzBase = (vzRoot: string, layout: VzLayout): string => join(vzRoot, layout === "upstream" ? "vz" : "var/lib/vz");

export interface StandinHost {
  hostName: string;
  vzRoot: string;
  layout: VzLayout;
  /** `<vzRoot>/vz` or `<vzRoot>/var/lib/vz`: private/, root/, template/. */
  vzBase: string;
  procRoot: string;
  ctx: BackendContext;
  backend: Backend & LiveLimits;
  /** Environment to run the stand-in by hand against this host. */
  env: NodeJS.ProcessEnv;
  cgroupPrefix: string;
}

/**
 * An emulated OpenVZ host under `baseDir`: its own VZ_ROOT with a vz.conf of the given layout, its
 * own proc root for the emulated kernel files, state directory and cgroup prefix.
 */
export function standinHost(baseDir: string, hostName: string, layout: VzLayout = "debian"): StandinHost {
  const vzRoot = join(baseDir, hostName, "vzroot");
  const procRoot = join(baseDir, hostName, "proc");
  const stateDir = join(baseDir, hostName, "state");
  const base = vzBase(vzRoot, layout);
  const cache = join(base, "template/cache");
  mkdirSync(cache, { recursive: true });
  mkdirSync(join(vzRoot, "etc/vz/conf"), { recursive: true });
  writeFileSync(join(vzRoot, "etc/vz/vz.conf"), standinVzConf(vzRoot, layout));
  mkdirSync(procRoot, { recursive: true });
  mkdirSync(stateDir, { recursive: true });
  copyFileSync(busyboxTemplate(), join(cache, `${STANDIN_TEMPLATE}.tar.gz`));
  // Unique per run, so a crashed earlier run cannot collide with this one.
  const cgroupPrefix = `vz/${hostName}-${process.pid}`;
  const ctx = testContext(hostName, stateDir);
  const backend = createOpenvzBackend(ctx, { vzctl: STANDIN_VZCTL, vzlist: STANDIN_VZLIST, vzRoot, procRoot, cgroupPrefix });
  const env = { ...process.env, VZ_ROOT: vzRoot, VZ_PROC_ROOT: procRoot, VZ_CGROUP_PREFIX: cgroupPrefix };
  return { hostName, vzRoot, layout, vzBase: base, procRoot, ctx, backend, env, cgroupPrefix };
}

export function busyboxSpec(name: string, limits = { memoryBytes: 64 * 1024 * 1024, cpus: 1 }): ContainerSpec {
  return testSpec("openvz", name, { template: STANDIN_TEMPLATE, limits });
}

/** Stops every CT of the host (by CT cgroup) and removes its files and cgroups. */
export function removeStandinHost(host: StandinHost): void {
  const list = execFileSync(STANDIN_VZLIST, ["-a", "-H", "-o", "ctid"], { env: host.env, stdio: ["ignore", "pipe", "ignore"] })
    .toString()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const ctid of list) {
    try {
      execFileSync(STANDIN_VZCTL, ["stop", ctid, "--fast"], { env: host.env, stdio: "ignore" });
    } catch {
      /* already stopped */
    }
  }
  for (const ctrl of ["memory", "cpu", "cpuacct", "pids", "blkio"]) {
    try {
      rmdirSync(join("/sys/fs/cgroup", ctrl, host.cgroupPrefix));
    } catch {
      /* not created, or still busy */
    }
  }
  rmSync(join(host.vzRoot, ".."), { recursive: true, force: true });
  rmSync(host.procRoot, { recursive: true, force: true });
}
