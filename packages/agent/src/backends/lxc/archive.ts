// Migration archive "lxc-dir-tar/1": the container's directory under lxcpath (config and rootfs)
// as one tar with numeric owners; restored by extracting it safely and pointing its config's paths
// at this host.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { invalidArgument } from "@corral/wire";
import type { ArchiveOut } from "../backend.js";
import { createTarStream, treeSize } from "../../archive/tar-stream.js";
import { extractTarSafely } from "../../archive/safe-extract.js";
import { LxcConfig, setCgroupDirs } from "./config.js";

export const ARCHIVE_FORMAT = "lxc-dir-tar/1";

export async function archiveDir(lxcPath: string, name: string): Promise<ArchiveOut> {
  const estimatedBytes = await treeSize(join(lxcPath, name));
  const { stream, finished } = createTarStream(lxcPath, [name]);
  return { format: ARCHIVE_FORMAT, estimatedBytes, stream, finished };
}

/** Extracts the archive into `stagingDir` and checks it holds `<name>/config`. */
export async function stageDir(name: string, input: Readable, stagingDir: string): Promise<void> {
  await extractTarSafely(input, stagingDir);
  if (!existsSync(join(stagingDir, name, "config"))) {
    throw invalidArgument(`archive does not hold container "${name}" (no ${name}/config)`);
  }
}

/** Rewrites the staged config for this host: the source's paths and cgroup dirs become ours. */
export async function rewriteStagedConfig(staged: string, name: string, hostName: string, targetDir: string): Promise<void> {
  const cfgPath = join(staged, "config");
  const cfg = new LxcConfig(await readFile(cfgPath, "utf8"));
  const rootfs = cfg.get("lxc.rootfs.path")?.replace(/^dir:/, "");
  if (rootfs?.endsWith(`/${name}/rootfs`)) cfg.replaceInValues(rootfs.slice(0, -"/rootfs".length), targetDir);
  setCgroupDirs(cfg, hostName, name);
  await writeFile(cfgPath, cfg.toString());
}
