// Migration archive "lxc-dir-tar/1": the container's directory under lxcpath (config and rootfs)
// as one tar with numeric owners; restored by extracting it safely and pointing its config's paths
// at this host.
import { chmod, lstat, readdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { ArchiveOut } from "../backend.js";
import { createTarStream, treeSize } from "../../archive/tar-stream.js";
import { extractTarSafely } from "../../archive/safe-extract.js";
import { LxcConfig, setCgroupDirs, setConsoleLog, setNic } from "./config.js";
import type { Nic } from "../../network/nic.js";
import { LXC_TAR_POLICY, checkStagedLxc } from "./config-policy.js";
import { hostIdMap, idMapLines, idMapOfConfig, shiftOwners } from "./id-map.js";
import { invalidArgument, NO_GRANTS, type RestoreGrants } from "@corral/wire";
import { checkSyncedTree } from "../../transfer/tree-sync.js";

export const ARCHIVE_FORMAT = "lxc-dir-tar/1";

/**
 * Pre-copy's archive (taken stopped, after the last pass): the container's directory without its
 * rootfs, which the passes synced. Its size is what is left beside the rootfs (no walk of the tree:
 * this runs during downtime).
 */
export async function archiveRestDir(lxcPath: string, name: string): Promise<ArchiveOut> {
  const dir = join(lxcPath, name);
  let estimatedBytes = 0;
  for (const e of await readdir(dir)) if (e !== "rootfs") estimatedBytes += (await lstat(join(dir, e))).size;
  const { stream, finished } = createTarStream(lxcPath, [name], { exclude: [`${name}/rootfs`], wideRecords: true });
  return { format: ARCHIVE_FORMAT, estimatedBytes, stream, finished };
}

/**
 * Pre-copy's restore: the rest archive into the empty `stagingDir`, then the synced tree (checked)
 * moved in as its rootfs. The archive may not carry a rootfs of its own: extracting over the synced
 * tree would write through the symlinks it holds.
 */
export async function stageRestDir(name: string, input: Readable, stagingDir: string, tree: string, grants: RestoreGrants = NO_GRANTS, treeReady: Promise<void> = Promise.resolve()): Promise<void> {
  // Once the final pass is over the tree no longer changes: check it while the rest archive
  // arrives (it lands in stagingDir, apart from the tree) instead of after it.
  const treeChecked = treeReady.then(() => checkSyncedTree(tree));
  treeChecked.catch(() => undefined);
  const checked = await extractTarSafely(input, stagingDir, LXC_TAR_POLICY);
  const dir = join(stagingDir, name);
  if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) throw invalidArgument(`archive does not hold container "${name}" as a directory`);
  if (await lstat(join(dir, "rootfs")).catch(() => undefined)) throw invalidArgument(`the archive after a pre-copy carries "${name}/rootfs" too; the synced tree is the rootfs`);
  const setid = await treeChecked;
  await rename(tree, join(dir, "rootfs"));
  await checkStagedLxc(name, stagingDir, { ...checked, setid: [...checked.setid, ...setid.map((f) => ({ ...f, path: `${name}/rootfs/${f.path}` }))] }, grants);
}

export async function archiveDir(lxcPath: string, name: string): Promise<ArchiveOut> {
  const estimatedBytes = await treeSize(join(lxcPath, name));
  const { stream, finished } = createTarStream(lxcPath, [name], { wideRecords: true });
  return { format: ARCHIVE_FORMAT, estimatedBytes, stream, finished };
}

/** Extracts the archive into `stagingDir` under the LXC tar policy, then checks what it holds (config-policy.ts). */
export async function stageDir(name: string, input: Readable, stagingDir: string, grants: RestoreGrants = NO_GRANTS): Promise<void> {
  await checkStagedLxc(name, stagingDir, await extractTarSafely(input, stagingDir, LXC_TAR_POLICY), grants);
}

/** Rewrites the staged config for this host: the source's paths, cgroup dirs, network and id map become ours. */
export async function rewriteStagedConfig(stagingDir: string, name: string, hostName: string, targetDir: string, nic: Nic | undefined, grants: RestoreGrants = NO_GRANTS): Promise<void> {
  const staged = join(stagingDir, name);
  const cfgPath = join(staged, "config");
  // Read through the policy: never through a symlink, and only the keys Corral writes.
  const text = await checkStagedLxc(name, stagingDir, undefined, grants);
  const cfg = new LxcConfig(text);
  const from = idMapOfConfig(text);
  if (!from && !grants.privileged) {
    throw invalidArgument(`archive's config for "${name}" has no id map (root inside would be root here), but the container was not created --privileged`);
  }
  if (from) {
    // Owners stay the mapped ones; a host with another subordinate range gets them shifted onto its own.
    const to = await hostIdMap();
    await shiftOwners(join(staged, "rootfs"), from, to);
    cfg.remove("lxc.idmap");
    for (const [k, v] of idMapLines(to)) cfg.add(k, v);
    // The mapped root must pass through the container's directory to its rootfs (search, never
    // listing), as at create; the extraction does not keep that bit (lxc-start: "Permission denied").
    const st = await stat(staged);
    await chmod(staged, (st.mode & 0o7777) | 0o001);
  }
  const rootfs = cfg.get("lxc.rootfs.path")?.replace(/^dir:/, "");
  if (rootfs?.endsWith(`/${name}/rootfs`)) cfg.replaceInValues(rootfs.slice(0, -"/rootfs".length), targetDir);
  setCgroupDirs(cfg, hostName, name);
  if (cfg.get("lxc.console.logfile") !== undefined) setConsoleLog(cfg, targetDir);
  setNic(cfg, nic);
  await writeFile(cfgPath, cfg.toString());
}
