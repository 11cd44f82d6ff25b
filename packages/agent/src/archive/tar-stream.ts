// GNU tar as a child process: create and extract with numeric owners, xattrs, ACLs and sparse files
// intact (DESIGN.md, "Migration").
import { spawn, type ChildProcess } from "node:child_process";
import { PassThrough, pipeline, type Readable } from "node:stream";
import { CorralError } from "@corral/wire";

// ACLs travel once, as --acls' SCHILY.acl.* records: with every xattr included GNU tar would also send
// them as system.posix_acl_* xattrs, which the receiving guard refuses (only user.* xattrs move);
// systemd's journal directories carry ACLs, so every Debian system container has them.
export const TAR_COMMON = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--xattrs-exclude=system.posix_acl_*", "--acls"];

/** tar's -b in 512-byte blocks: records of 64 KiB, the size of a pipe's buffer. */
export const WIDE_RECORDS = ["-b", "128"];

/** Resolves when the process exits 0; rejects with its stderr otherwise. */
export function processDone(child: ChildProcess, what: string): Promise<void> {
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", (err) => reject(new CorralError("internal", `${what}: ${err.message}`, { cause: err })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else {
        const why = stderr.trim().split("\n").slice(-3).join("; ") || (signal ? `killed by ${signal}` : `exit ${code}`);
        reject(new CorralError("internal", `${what} failed: ${why}`));
      }
    });
  });
}

/**
 * A child's stdout that keeps what the child wrote until it is read. Node resumes every stdio
 * stream nobody listens to when the child exits (child_process flushStdio), dropping its data: a
 * small output (tar of a container without its rootfs, zstd of a small archive) written in full
 * while its reader was still dialling the target came out empty, and the target saw "archive is
 * truncated". Piped at once into a buffer, the bytes wait; backpressure still reaches the child.
 */
export function keptOutput(child: ChildProcess): Readable {
  // Chunks are handed on as the pipe gave them (objectMode on the read side: a read never
  // concatenates, so no copy and --bwlimit's pacing keeps its grain), up to 16 pipe reads held. A
  // pipeline, so that destroying what the reader holds closes the child's stdout (EPIPE ends it).
  const held = new PassThrough({ readableObjectMode: true, readableHighWaterMark: 16 });
  return pipeline(child.stdout!, held, () => undefined);
}

export interface TarOut {
  stream: Readable;
  finished: Promise<void>;
}

export interface TarCreateOptions {
  /** GNU tar --transform expressions, applied to every member name in order. */
  transforms?: string[];
  /** Members of a second directory, in the same archive. */
  more?: { dir: string; members: string[] };
  /** GNU tar --owner-map/--group-map files ("+OLD +NEW" lines): owners as the reader should see them. */
  ownerMap?: string;
  groupMap?: string;
  /** Member paths left out with everything under them (anchored, e.g. "ct1/rootfs"). */
  exclude?: string[];
  /**
   * 64 KiB records (-b 128) instead of tar's 10 KiB: a sixth of the pipe writes, and as many
   * fewer reads and frames down the line. Only for an archive a peer's TarGuard reads whole (a
   * migration's): GNU tar reading it stops at the end-of-archive marker and leaves the rest of the
   * last record unread, so a writer feeding another reader (ct cp out, dockerd) would see EPIPE.
   */
  wideRecords?: boolean;
}

/**
 * `tar -c` of `members` relative to `dir`, as a stream. No `--sparse`: the receiving guard refuses
 * sparse maps it cannot check, so a sparse file travels (and lands) whole.
 */
export function createTarStream(dir: string, members: string[], opts: TarCreateOptions = {}): TarOut {
  const names = (d: string, m: string[]) => ["-C", d, ...m.map((x) => (x.startsWith("-") ? `./${x}` : x))];
  const args = [
    "-c", ...(opts.wideRecords ? WIDE_RECORDS : []), ...TAR_COMMON, ...(opts.transforms ?? []).map((t) => `--transform=${t}`),
    ...(opts.ownerMap ? [`--owner-map=${opts.ownerMap}`] : []), ...(opts.groupMap ? [`--group-map=${opts.groupMap}`] : []),
    ...(opts.exclude?.length ? ["--anchored", "--no-wildcards", ...opts.exclude.map((e) => `--exclude=${e}`)] : []), "-f", "-",
    ...(opts.more ? [...names(dir, members), ...names(opts.more.dir, opts.more.members)] : ["-C", dir, "--", ...members]),
  ];
  const child = spawn("tar", args, { stdio: ["ignore", "pipe", "pipe"] });
  return { stream: keptOutput(child), finished: processDone(child, "tar -c") };
}

/** Apparent size of a tree in bytes (the progress total of a migration). */
export async function treeSize(path: string): Promise<number> {
  const child = spawn("du", ["-s", "--apparent-size", "--block-size=1", path], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await processDone(child, "du");
  return Number(out.split(/\s/)[0]) || 0;
}
