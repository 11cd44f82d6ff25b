// Migration archives are LXD's own instance backups ("lxd-backup/1"): LXD packs rootfs, config and
// numeric owners itself, and imports them on the target, so no tar is run by the agent.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { finished as streamFinished } from "node:stream/promises";
import type { RestoreGrants } from "@corral/wire";
import type { ArchiveOut } from "../backend.js";
import type { LxdClient } from "./client.js";
import { stageCheckedBackup } from "./config-policy.js";

export const ARCHIVE_FORMAT = "lxd-backup/1";
export const STAGED_FILE = "backup.tar";

export type BackupCompression = "none" | "zstd" | "gzip";

/** Makes a backup, streams its export, and deletes the backup once the stream has been read. */
export async function exportBackup(
  client: LxdClient,
  instance: string,
  compression: BackupCompression,
): Promise<ArchiveOut> {
  const backup = `corral-${Date.now()}`;
  const base = `/1.0/instances/${instance}/backups`;
  await client.call("POST", base, {
    body: {
      name: backup,
      instance_only: true,
      optimized_storage: false,
      compression_algorithm: compression,
      // If the agent dies mid-transfer, LXD still drops the backup later.
      expires_at: new Date(Date.now() + 6 * 3600_000).toISOString(),
    },
  });
  const remove = () => client.call("DELETE", `${base}/${backup}`).then(
    () => undefined,
    () => undefined,
  );
  let stream: Readable;
  let length: number;
  try {
    ({ body: stream, length } = await client.download(`${base}/${backup}/export`));
  } catch (err) {
    await remove();
    throw err;
  }
  const finished = streamFinished(stream).then(remove, async (err: unknown) => {
    await remove();
    throw err;
  });
  return { format: ARCHIVE_FORMAT, estimatedBytes: length, stream, finished };
}

/** Spools an incoming backup into the staging directory, checked (config-policy.ts). */
export async function stageBackup(input: Readable, stagingDir: string, grants?: RestoreGrants): Promise<void> {
  await stageCheckedBackup(input, join(stagingDir, STAGED_FILE), stagingDir, grants);
}

/** Imports a staged backup under `instance` in `pool`; the instance arrives stopped. */
export async function importBackup(client: LxdClient, stagingDir: string, instance: string, pool: string): Promise<void> {
  await client.call("POST", "/1.0/instances", {
    stream: createReadStream(join(stagingDir, STAGED_FILE)),
    headers: { "Content-Type": "application/octet-stream", "X-LXD-name": instance, "X-LXD-pool": pool },
  });
}
