// The one CT an OpenVZ migration archive ("openvz-private-tar/1") holds, once extracted into a
// staging directory: etc/vz/conf/CTID.conf, its action scripts, its second-level quota dump
// (CTID.vzdqdump) and var/lib/vz/private/CTID.
// Read by the OpenVZ backend's restore and by the LXC and LXD backends converting the CT.
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { invalidArgument } from "@corral/wire";
import { extractTarSafely } from "../../archive/safe-extract.js";
import { ACTION_SCRIPTS, OPENVZ_TAR_POLICY, QUOTA_DUMP_SUFFIX, checkStagedOpenvz, type ActionScript } from "./config-policy.js";

export const OPENVZ_ARCHIVE_FORMAT = "openvz-private-tar/1";

/** Where the canonical archive keeps the CT, whatever the paths on either host: the seed's layout. */
export const ARCHIVE_CONF_DIR = "etc/vz/conf";
export const ARCHIVE_PRIVATE_DIR = "var/lib/vz/private";

export interface StagedCt {
  ctid: number;
  confText: string;
  privateDir: string;
  scripts: { action: ActionScript; path: string }[];
  /** `vzdqdump CTID -U -G -T` of the source, when its second-level quota was on. */
  quotaDump?: string;
}

/** Extracts an OpenVZ archive under its policy and checks what it holds (config-policy.ts). */
export async function stageOpenvzArchive(input: Readable, stagingDir: string): Promise<void> {
  await extractTarSafely(input, stagingDir, OPENVZ_TAR_POLICY);
  await checkStagedOpenvz(stagingDir);
}

/** The one CT a staging directory holds; refuses zero or several, or a missing private area. */
export async function readStagedCt(name: string, stagingDir: string): Promise<StagedCt> {
  const confDir = join(stagingDir, ARCHIVE_CONF_DIR);
  const files = await readdir(confDir).catch(() => [] as string[]);
  const confs = files.filter((f) => /^\d+\.conf$/.test(f));
  if (confs.length !== 1) {
    throw invalidArgument(`archive for container "${name}" must hold exactly one ${ARCHIVE_CONF_DIR}/CTID.conf (found ${confs.length})`);
  }
  const ctid = Number(confs[0]!.slice(0, -5));
  const confText = await readFile(join(confDir, confs[0]!), "utf8");
  const privateDir = join(stagingDir, ARCHIVE_PRIVATE_DIR, String(ctid));
  const st = await stat(privateDir).catch(() => undefined);
  if (!st?.isDirectory()) throw invalidArgument(`archive for container "${name}" has no private area ${ARCHIVE_PRIVATE_DIR}/${ctid}`);
  const scripts = ACTION_SCRIPTS.filter((a) => files.includes(`${ctid}.${a}`)).map((action) => ({
    action,
    path: join(confDir, `${ctid}.${action}`),
  }));
  const dump = `${ctid}.${QUOTA_DUMP_SUFFIX}`;
  return { ctid, confText, privateDir, scripts, ...(files.includes(dump) ? { quotaDump: join(confDir, dump) } : {}) };
}
