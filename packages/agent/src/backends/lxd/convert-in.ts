// OpenVZ → LXD and LXC → LXD (ct migrate --backend lxd), as lxc-to-lxd does it: the source's root
// filesystem with the container's own (unshifted) owners, its hostname and limits, become a new LXD
// instance; LXD then maps the owners onto its own unprivileged range. Staging holds `rootfs/` and
// `converted.json`; commit hands the rootfs to LXD as a one-use image (lxd-backend.ts).
import { constants } from "node:fs";
import { lstat, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { invalidArgument, NO_GRANTS, type Limits, type RestoreGrants } from "@corral/wire";
import { parseConfig } from "../openvz/config.js";
import { carriedLimits, swapBytesOf } from "../openvz/conversion.js";
import { readStagedCt, stageOpenvzArchive } from "../openvz/staged-ct.js";
import { stageDir } from "../lxc/archive.js";
import { HOSTNAME_RE } from "../lxc/convert-in.js";
import { checkStagedLxc } from "../lxc/config-policy.js";
import { LxcConfig } from "../lxc/config.js";
import { CONTAINER_IDS, idMapOfConfig, shiftOwners } from "../lxc/id-map.js";

export const CONVERTED_FILE = "converted.json";
export const CONVERTED_ROOTFS = "rootfs";

/** What a converted container keeps besides its files. */
export interface Converted {
  hostname: string;
  limits: Limits;
  /** LXD's limits.memory.swap ("true"/"false"), when the source said (an OpenVZ CT's SWAPPAGES). */
  swap?: string;
}

const ZERO_BASED = { uid: 0, gid: 0, count: CONTAINER_IDS };

export async function stageOpenvzForLxd(name: string, input: Readable, stagingDir: string): Promise<void> {
  const raw = join(stagingDir, ".openvz");
  await mkdir(raw, { mode: 0o700 });
  await stageOpenvzArchive(input, raw);
  const ct = await readStagedCt(name, raw);
  const conf = parseConfig(ct.confText);
  // An OpenVZ 6 CT's owners are already the container's own ids (no user namespace there).
  await rename(ct.privateDir, join(stagingDir, CONVERTED_ROOTFS));
  await rm(raw, { recursive: true, force: true });
  const swap = swapBytesOf(conf);
  await finish(stagingDir, { hostname: conf.get("HOSTNAME") ?? "", limits: carriedLimits(conf), ...(swap === undefined ? {} : { swap: String(swap > 0) }) });
}

export async function stageLxcForLxd(name: string, input: Readable, stagingDir: string, grants: RestoreGrants = NO_GRANTS): Promise<void> {
  const raw = join(stagingDir, ".lxc");
  await mkdir(raw, { mode: 0o700 });
  // Every check an LXC-to-LXC move makes (config keys, setuid files of mapped ids, no escapes).
  await stageDir(name, input, raw, grants);
  const text = await checkStagedLxc(name, raw, undefined, grants);
  const cfg = new LxcConfig(text);
  const rootfs = join(raw, name, "rootfs");
  // Back to the container's own ids, which LXD maps onto its range as it does for any image.
  const from = idMapOfConfig(text);
  if (from) await shiftOwners(rootfs, from, ZERO_BASED);
  await rename(rootfs, join(stagingDir, CONVERTED_ROOTFS));
  await rm(raw, { recursive: true, force: true });
  await finish(stagingDir, { hostname: (cfg.get("lxc.uts.name") ?? "").replace(/^"|"$/g, ""), limits: cfg.limits() });
}

/** The staged conversion, or undefined when the staging holds the backend's own backup. */
export async function readConverted(stagingDir: string): Promise<Converted | undefined> {
  const text = await readFile(join(stagingDir, CONVERTED_FILE), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Converted);
}

/**
 * Records what commit needs and writes the hostname into the rootfs's /etc/hostname (LXD names
 * the container's UTS after the instance): never through a symlink, which could point anywhere.
 */
async function finish(stagingDir: string, c: Converted): Promise<void> {
  const hostname = HOSTNAME_RE.test(c.hostname) ? c.hostname : "";
  const etc = join(stagingDir, CONVERTED_ROOTFS, "etc");
  if (hostname && (await lstat(etc).catch(() => undefined))?.isDirectory()) {
    const fh = await open(join(etc, "hostname"), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644).catch(
      (err: NodeJS.ErrnoException) => {
        throw invalidArgument(`the converted container's /etc/hostname cannot be written (${err.code ?? err.message}): is it a symlink?`, err);
      },
    );
    try {
      await fh.writeFile(`${hostname}\n`);
    } finally {
      await fh.close();
    }
  }
  await writeFile(join(stagingDir, CONVERTED_FILE), JSON.stringify({ ...c, hostname } satisfies Converted));
}
