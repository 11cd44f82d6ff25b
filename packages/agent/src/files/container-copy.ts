// ct cp on the agent: what arrives goes through the same guard as a migration archive (TarGuard,
// then GNU tar into a fresh, empty staging directory), and only then is moved into place; what
// leaves is a tar of one path. Paths inside a container's root filesystem are resolved as the
// container would see them, so a symlink planted in the container cannot point the agent at the
// host (securejoin, as Docker and runc resolve them).
import { lstat, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { failedPrecondition, invalidArgument, notFound, checkCopyTarget, moveInto } from "@corral/wire";
import { extractTarSafely } from "../archive/safe-extract.js";
import { UnsafeArchiveError } from "../archive/tar-guard.js";
import { createTarStream, type TarOut } from "../archive/tar-stream.js";

/** Where a copy goes and the tar's one top-level member (wire's CopyInHeader without routing). */
export interface CopyTarget {
  path: string;
  sourceName: string;
}

const MAX_SYMLINKS = 40;
// ENOTDIR: a component on the way is a file, so nothing below it exists.
const isMissing = (err: unknown): boolean => ["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException)?.code ?? "");

/** `path` inside `root`, symlinks followed but kept inside root ("/" and ".." stop at root). */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const todo = path.split("/").filter((p) => p !== "" && p !== ".");
  let done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const st = await lstat(join(root, ...done, part)).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (!st) {
      // The rest does not exist: resolve it lexically, still inside root.
      done.push(part);
      for (const p of todo) if (p === "..") done.pop();
      else done.push(p);
      break;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw invalidArgument(`too many levels of symbolic links in ${path}`);
    const target = await readlink(join(root, ...done, part));
    if (target.startsWith("/")) done = [];
    todo.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(root, ...done);
}

async function kindOf(hostPath: string): Promise<"dir" | "other" | "missing"> {
  try {
    return (await lstat(hostPath)).isDirectory() ? "dir" : "other";
  } catch (err) {
    if (isMissing(err)) return "missing";
    throw err;
  }
}

/**
 * docker cp's rule for where a copy lands: into `path` when it is a directory, else as `path`
 * itself in its parent directory, which must exist. `kind` answers for a path in the container.
 */
export async function landing(
  target: CopyTarget,
  kind: (containerPath: string) => Promise<"dir" | "other" | "missing">,
): Promise<{ dir: string; name: string }> {
  checkCopyTarget(target.path, target.sourceName);
  const path = posix.normalize(target.path);
  if ((await kind(path)) === "dir") return { dir: path, name: target.sourceName };
  if (target.path.endsWith("/")) throw notFound(`no such directory in the container: ${target.path}`);
  const dir = posix.dirname(path);
  const parent = await kind(dir);
  if (parent === "missing") throw notFound(`no such directory in the container: ${dir}`);
  if (parent !== "dir") throw failedPrecondition(`not a directory in the container: ${dir}`);
  return { dir, name: posix.basename(path) };
}

/**
 * Extracts an untrusted tar into the fresh, empty `staging` directory through the guard, and checks
 * that it holds exactly the one member it announced. Returns that member's path in staging.
 */
export async function stageCopy(tar: Readable, sourceName: string, staging: string): Promise<string> {
  await extractTarSafely(tar, staging, { setid: "allow" });
  const top = await readdir(staging);
  if (top.length !== 1 || top[0] !== sourceName) {
    throw new UnsafeArchiveError(`a copy must hold one top-level member "${sourceName}"; it holds ${top.length ? top.map((t) => `"${t}"`).join(", ") : "nothing"}`);
  }
  return join(staging, sourceName);
}

/** Owners as a container sees them and as its host stores them (an unprivileged LXC container's id map). */
export interface OwnerShift {
  /** Re-owns a staged tree from the container's ids onto the host's. */
  inward(tree: string): Promise<void>;
  /** "+HOSTID +CONTAINERID" lines for every owner and group under a tree, for tar's maps. */
  outward(tree: string): Promise<{ owners: string; groups: string }>;
}

/** ct cp into a container whose root filesystem this host sees at `root` (LXC, OpenVZ). */
export async function copyIntoRoot(root: string, target: CopyTarget, tar: Readable, shift?: OwnerShift): Promise<void> {
  const { dir, name } = await landing(target, async (p) => kindOf(await resolveInRoot(root, p)));
  const hostDir = await resolveInRoot(root, dir);
  // Staged inside the destination directory: the final step is a rename on one filesystem.
  const staging = await mkdtemp(join(hostDir, ".corral-cp-"));
  try {
    const staged = await stageCopy(tar, target.sourceName, staging);
    await shift?.inward(staged);
    await moveInto(staged, join(hostDir, name));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A tar of `path` (its last component kept as it is: a symlink travels as a symlink). */
export async function tarFromRoot(root: string, path: string, shift?: OwnerShift): Promise<TarOut> {
  checkCopyTarget(path);
  const normal = posix.normalize(path);
  if (normal === "/") throw invalidArgument("copy a path below / (the root directory is the whole container)");
  const dir = await resolveInRoot(root, posix.dirname(normal));
  const name = posix.basename(normal);
  if ((await kindOf(join(dir, name))) === "missing") throw notFound(`no such file or directory in the container: ${path}`);
  if (!shift) return createTarStream(dir, [name]);
  const maps = await shift.outward(join(dir, name));
  const tmp = await mkdtemp(join(tmpdir(), "corral-cp-maps-"));
  await writeFile(join(tmp, "owners"), maps.owners);
  await writeFile(join(tmp, "groups"), maps.groups);
  const out = createTarStream(dir, [name], { ownerMap: join(tmp, "owners"), groupMap: join(tmp, "groups") });
  return { ...out, finished: out.finished.finally(() => rm(tmp, { recursive: true, force: true })) };
}
