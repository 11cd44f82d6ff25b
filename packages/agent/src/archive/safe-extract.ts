// Extraction of archives received from another host.
import { spawn } from "node:child_process";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { TarGuard } from "./tar-guard.js";
import { TAR_COMMON, processDone } from "./tar-stream.js";

/**
 * Extracts an untrusted tar stream into `destDir` (which must exist and be empty): every member is
 * checked by TarGuard before tar sees it. On failure the caller removes destDir.
 */
export async function extractTarSafely(input: Readable, destDir: string): Promise<{ members: number }> {
  const child = spawn("tar", ["-x", ...TAR_COMMON, "--same-owner", "--same-permissions", "-f", "-", "-C", destDir], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  const done = processDone(child, "tar -x");
  const guard = new TarGuard();
  try {
    await pipeline(input, guard, child.stdin!);
  } catch (err) {
    child.kill("SIGKILL");
    await done.catch(() => undefined);
    throw err;
  }
  await done;
  return { members: guard.members };
}

