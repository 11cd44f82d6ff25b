// The host's global OpenVZ configuration, vz.conf(5): where private areas, root mount points and
// OS templates live. Upstream vzctl and RHEL/CentOS hosts use /vz/{private,root,template}; Debian's
// package uses /var/lib/vz. Nothing is hard-coded: every path comes from this file, with $VEID
// substituted per container. CTID.conf files live in the `conf` directory beside vz.conf.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { failedPrecondition } from "@corral/wire";
import { parseConfig, substVeid } from "./config.js";

/** The OS template cache formats vzctl create takes, in the order it looks for them. */
export const TEMPLATE_EXTENSIONS = [".tar.gz", ".tar.xz", ".tar.bz2", ".tar"] as const;

export interface VzPaths {
  /** /etc/vz/conf: CTID.conf and the action scripts CTID.{start,stop,mount,...}. */
  confDir: string;
  /** VE_PRIVATE and VE_ROOT as written, with $VEID unexpanded. */
  privateTemplate: string;
  rootTemplate: string;
  /** TEMPLATE/cache, where OS template tarballs live. */
  templateCache: string;
  /** DISK_QUOTA: whether vzquota is in use (its quota is initialised after a move). */
  diskQuota: boolean;
}

export function vzPaths(vzConfText: string, vzConfPath: string): VzPaths {
  const conf = parseConfig(vzConfText);
  const need = (key: string, exit: number): string => {
    const v = conf.get(key);
    // vzctl itself refuses to work without them (exit 22, 23, 24).
    if (!v) throw failedPrecondition(`${vzConfPath} does not set ${key} (vzctl would exit ${exit})`);
    return v;
  };
  return {
    confDir: join(dirname(vzConfPath), "conf"),
    rootTemplate: need("VE_ROOT", 22),
    privateTemplate: need("VE_PRIVATE", 23),
    templateCache: join(need("TEMPLATE", 24), "cache"),
    diskQuota: (conf.get("DISK_QUOTA") ?? "yes").toLowerCase() !== "no",
  };
}

export async function readVzPaths(vzConfPath: string): Promise<VzPaths> {
  let text: string;
  try {
    text = await readFile(vzConfPath, "utf8");
  } catch (err) {
    // vzctl exits 10 without its global configuration file.
    throw failedPrecondition(`global OpenVZ configuration ${vzConfPath} not found (vzctl would exit 10)`, err);
  }
  return vzPaths(text, vzConfPath);
}

export const privateOf = (p: VzPaths, ctid: number): string => substVeid(p.privateTemplate, ctid);
export const rootOf = (p: VzPaths, ctid: number): string => substVeid(p.rootTemplate, ctid);
export const confOf = (p: VzPaths, ctid: number): string => join(p.confDir, `${ctid}.conf`);

/** The OS template tarball vzctl would use for `name`, in any format it takes; undefined if none. */
export function findTemplate(p: VzPaths, name: string): string | undefined {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return undefined;
  for (const ext of TEMPLATE_EXTENSIONS) {
    const f = join(p.templateCache, `${name}${ext}`);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** vzctl's version from `vzctl --version` ("vzctl version 4.9.4"): [major, minor], or undefined. */
export function vzctlVersion(line: string): { text: string; major: number } | undefined {
  const m = /vzctl version (\d+)\.(\d+)(?:\.\d+)?\S*/.exec(line);
  return m ? { text: m[0].slice("vzctl version ".length), major: Number(m[1]) } : undefined;
}
