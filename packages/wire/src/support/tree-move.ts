// Moving a copied tree into place, for ct cp at both ends (the agent into a container's root, the
// CLI into a local directory).
import { chmod, lchown, lstat, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition } from "../domain/errors.js";

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === "ENOENT";

/**
 * Moves `src` to `dst` (same filesystem): a directory onto a directory merges, as docker cp and
 * `cp -a` do; a file replaces a file. Neither replaces the other kind.
 */
export async function moveInto(src: string, dst: string): Promise<void> {
  const s = await lstat(src);
  const d = await lstat(dst).catch((err: unknown) => {
    if (isMissing(err)) return undefined;
    throw err;
  });
  if (d?.isDirectory() && s.isDirectory()) {
    for (const e of await readdir(src)) await moveInto(join(src, e), join(dst, e));
    // Only root may give a directory away; a person copying out keeps their own.
    await lchown(dst, s.uid, s.gid).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EPERM") throw err;
    });
    await chmod(dst, s.mode & 0o7777);
    return;
  }
  if (d?.isDirectory()) throw failedPrecondition(`cannot overwrite directory ${dst} with a non-directory`);
  if (d && s.isDirectory()) throw failedPrecondition(`cannot overwrite non-directory ${dst} with a directory`);
  await rename(src, dst);
}

