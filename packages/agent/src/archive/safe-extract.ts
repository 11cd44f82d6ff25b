// Extraction of archives received from another host.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { TarGuard, type SetidFile, type TarPolicy } from "./tar-guard.js";
import { TAR_COMMON, WIDE_RECORDS, processDone } from "./tar-stream.js";

export interface CheckedArchive {
  members: number;
  /** setuid/setgid files the policy let through, for the backend's id-map check. */
  setid: SetidFile[];
  /** Contents of the files named in `policy.capture`. */
  captured: Map<string, Buffer>;
}

const result = (g: TarGuard): CheckedArchive => ({ members: g.members, setid: g.setid, captured: g.captured });

/**
 * Extracts an untrusted tar stream into `destDir` (which must exist and be empty): GNU tar sees
 * only what TarGuard checked and re-emitted. On failure the caller removes destDir.
 */
export async function extractTarSafely(input: Readable, destDir: string, policy?: TarPolicy): Promise<CheckedArchive> {
  // Reads of 64 KiB records instead of 10 KiB: a sixth of the pipe reads. tar reading a pipe
  // takes records of any size (--read-full-records is its default there), so an archive written in
  // 10 KiB records reads as well; one written in 64 KiB records (a migration's) is read to its end.
  const child = spawn("tar", ["-x", ...WIDE_RECORDS, ...TAR_COMMON, "--same-owner", "--same-permissions", "-f", "-", "-C", destDir], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  const done = processDone(child, "tar -x");
  // tar may exit first (and reject) while the pipeline is still running: observe it now.
  done.catch(() => undefined);
  const guard = new TarGuard(policy);
  try {
    await pipeline(input, guard, child.stdin!);
  } catch (err) {
    child.kill("SIGKILL");
    await done.catch(() => undefined);
    throw err;
  }
  await done;
  return result(guard);
}

/** Checks an untrusted tar stream and writes exactly the checked bytes to `file` (for runtimes that unpack it themselves). */
export async function copyTarSafely(input: Readable, file: string, policy?: TarPolicy): Promise<CheckedArchive> {
  const guard = new TarGuard(policy);
  await pipeline(input, guard, createWriteStream(file, { flags: "wx", mode: 0o600 }));
  return result(guard);
}
