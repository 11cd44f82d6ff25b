// Migration archive "lxc-dir-tar/1": the container's directory under lxcpath (config and rootfs)
// as one tar with numeric owners; restored by extracting it safely and pointing its config's paths
// at this host.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { ArchiveOut } from "../backend.js";
import { createTarStream, treeSize } from "../../archive/tar-stream.js";
import { extractTarSafely } from "../../archive/safe-extract.js";
import { LxcConfig, setCgroupDirs, setNic } from "./config.js";
import type { Nic } from "../../network/nic.js";
import { LXC_TAR_POLICY, checkStagedLxc } from "./config-policy.js";

export const ARCHIVE_FORMAT = "lxc-dir-tar/1";

export async function archiveDir(lxcPath: string, name: string): Promise<ArchiveOut> {
  const estimatedBytes = await treeSize(join(lxcPath, name));
  const { stream, finished } = createTarStream(lxcPath, [name]);
  return { format: ARCHIVE_FORMAT, estimatedBytes, stream, finished };
}

/** Extracts the archive into `stagingDir` under the LXC tar policy, then checks what it holds (config-policy.ts). */
export async function stageDir(name: string, input: Readable, stagingDir: string): Promise<void> {
  await checkStagedLxc(name, stagingDir, await extractTarSafely(input, stagingDir, LXC_TAR_POLICY));
}

/** Rewrites the staged config for this host: the source's paths, cgroup dirs and network become ours. */
export async function rewriteStagedConfig(stagingDir: string, name: string, hostName: string, targetDir: string, nic: Nic | undefined): Promise<void> {
  const staged = join(stagingDir, name);
  const cfgPath = join(staged, "config");
  // Read through the policy: never through a symlink, and only the keys Corral writes.
  const cfg = new LxcConfig(await checkStagedLxc(name, stagingDir));
  const rootfs = cfg.get("lxc.rootfs.path")?.replace(/^dir:/, "");
  if (rootfs?.endsWith(`/${name}/rootfs`)) cfg.replaceInValues(rootfs.slice(0, -"/rootfs".length), targetDir);
  setCgroupDirs(cfg, hostName, name);
  setNic(cfg, nic);
  await writeFile(cfgPath, cfg.toString());
}
