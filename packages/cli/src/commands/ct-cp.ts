import { spawn } from "node:child_process";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { basename, dirname, join, posix, resolve } from "node:path";
import { once } from "node:events";
import { CorralError, formatBytes, moveInto, notFound, failedPrecondition, type CopyInChunk } from "@corral/wire";
import type { Context } from "../command.js";
import { UsageError } from "../usage-error.js";

export const name = "ct cp";
export const synopsis = "Copy files and directories between this machine and a container";
export const help = `Usage: corral ct cp SRC NAME:/PATH | corral ct cp NAME:/PATH DST

One side names a container path (NAME:/absolute/path), the other a local path. Files and whole
directories travel as one tar stream through the controller, with modes and numeric owners kept,
so size costs time, not memory. As with docker cp: when the destination is an existing
directory the source lands inside it under its own name; otherwise it lands as the destination
itself, whose parent directory must exist. A directory copied onto a directory merges into it.
What arrives in a container is checked like any archive from outside: no path outside the
destination, no device nodes, owners within the container's id map.`;
export const positionals = "containers";
export const examples = [
  "corral ct cp ./site web:/srv/www",
  "corral ct cp app.conf web:/etc/app.conf",
  "corral ct cp web:/var/log/app.log ./app.log",
];

const CONTAINER_SIDE = /^([a-z0-9][a-z0-9-]*):(.*)$/;

interface Side {
  container?: string;
  path: string;
}

function side(arg: string): Side {
  const m = CONTAINER_SIDE.exec(arg);
  // "./a:b" or "/x:y" are local paths; a container side starts with a container name.
  return m ? { container: m[1], path: m[2] as string } : { path: arg };
}

export async function run(ctx: Context): Promise<void> {
  const src = side(ctx.args.positional(0, "source (corral ct cp SRC NAME:/PATH)"));
  const dst = side(ctx.args.positional(1, "destination (corral ct cp SRC NAME:/PATH)"));
  ctx.args.noMorePositionals(2);
  if (src.container && dst.container) throw new UsageError("copy between a container and this machine: one side must be a local path");
  if (!src.container && !dst.container) throw new UsageError("one side must be a container path, NAME:/PATH");
  const remote = (src.container ? src : dst) as Required<Side>;
  if (!remote.path.startsWith("/")) throw new UsageError(`container path "${remote.container}:${remote.path}" must be absolute (NAME:/PATH)`);
  const bytes = src.container ? await copyOut(ctx, remote, dst.path) : await copyIn(ctx, src.path, remote);
  const what = src.container ? `${remote.container}:${remote.path} to ${dst.path}` : `${src.path} to ${remote.container}:${remote.path}`;
  if (ctx.json) ctx.printJson({ bytes });
  else ctx.print(`copied ${what} (${formatBytes(bytes)} of tar)`);
}

/** GNU tar with numeric owners; its stderr becomes the error when it fails. */
function tar(args: string[]) {
  const child = spawn("tar", args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const done = new Promise<void>((ok, fail) => {
    child.on("error", (err) => fail(new CorralError("internal", `tar: ${err.message}`, { cause: err })));
    child.on("close", (code) => (code === 0 ? ok() : fail(new CorralError("internal", `tar failed: ${stderr.trim().split("\n").slice(-2).join("; ") || `exit ${code}`}`))));
  });
  done.catch(() => undefined);
  return { child, done };
}

async function copyIn(ctx: Context, local: string, remote: Required<Side>): Promise<number> {
  const abs = resolve(local);
  await lstat(abs).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "ENOENT" ? notFound(`no such file or directory: ${local}`, err) : err;
  });
  const sourceName = basename(abs);
  if (!sourceName) throw new UsageError("copy a path below /, not the whole root directory");
  const t = tar(["-c", "--numeric-owner", "--acls", "-f", "-", "-C", dirname(abs), "--", sourceName]);
  t.child.stdin.end();
  let bytes = 0;
  async function* chunks(): AsyncGenerator<CopyInChunk> {
    yield { kind: "header", header: { container: remote.container, backend: "", path: remote.path, sourceName } };
    for await (const data of t.child.stdout) {
      bytes += (data as Buffer).length;
      yield { kind: "data", data: data as Buffer };
    }
    // A tar that failed half-way must not look like a whole archive: fail the upload instead.
    await t.done;
  }
  const conn = ctx.connection();
  const client = await conn.controller();
  try {
    await conn.waitFor(`copying ${local} to ${remote.container}:${remote.path}`, client.copyIn(chunks()));
  } finally {
    t.child.kill();
  }
  return bytes;
}

async function copyOut(ctx: Context, remote: Required<Side>, local: string): Promise<number> {
  const top = posix.basename(posix.normalize(remote.path));
  if (!top) throw new UsageError("copy a path below /, not the whole root directory");
  const abs = resolve(local);
  const st = await lstat(abs).catch(() => undefined);
  const into = st?.isDirectory() ? abs : dirname(abs);
  const final = st?.isDirectory() ? join(abs, top) : abs;
  const parent = await lstat(into).catch(() => undefined);
  if (!parent) throw notFound(`no such directory: ${into}`);
  if (!parent.isDirectory()) throw failedPrecondition(`not a directory: ${into}`);
  // Extracted into a fresh directory beside the destination, then moved: a hostile archive meets an
  // empty directory (GNU tar also refuses ".." and delays symlinks), and the move is a rename.
  const staging = await mkdtemp(join(into, ".corral-cp-"));
  let bytes = 0;
  try {
    const t = tar(["-x", "--numeric-owner", "-f", "-", "-C", staging]);
    t.child.stdout.resume();
    const client = await ctx.connection().controller();
    try {
      for await (const data of client.copyOut(remote.container, remote.path)) {
        bytes += data.length;
        if (!t.child.stdin.write(data)) await once(t.child.stdin, "drain");
      }
    } catch (err) {
      t.child.kill();
      throw err;
    }
    t.child.stdin.end();
    await t.done;
    const entries = await readdir(staging);
    if (entries.length !== 1 || entries[0] !== top) throw new CorralError("internal", `the container sent ${entries.length} top-level entries, expected "${top}"`);
    await moveInto(join(staging, top), final);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return bytes;
}
