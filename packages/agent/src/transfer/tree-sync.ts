// Pre-copy's passes (ct migrate --precopy): rsync between the two agents over their data connection
// (data-link.ts, mode "rsync"), as Incus bridges `rsync --server` over its authenticated websocket.
//
// The target is the untrusted source's receiver, so it does not run a plain `rsync --server` (which
// writes wherever the sender's names and symlinks lead) but rsync's own daemon for untrusted
// clients, over the connection's stdio: one module, chrooted into the pass's tree (`use chroot`),
// so no name, symlink or hard link the sender crafts reaches anything outside it; numeric ids;
// device nodes refused (a migration archive never carries them either). What rsync cannot refuse
// as it writes (xattrs outside user.*, setuid files) is checked before the tree is used
// (checkSyncedTree). The source runs the rsync client against a loopback port that the agent
// bridges to the data connection, so rsync never sees a certificate or the token.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CorralError, invalidArgument } from "@corral/wire";
import { processDone } from "../archive/tar-stream.js";
import type { SetidFile } from "../archive/tar-guard.js";
import { lastLine, run } from "../process/run.js";

const MODULE = "tree";
const RSYNC_VANISHED = 24;

/**
 * What the passes keep, as the archive does: owners (numeric), modes, times, symlinks, hard links,
 * ACLs, xattrs; deletions. Not fifos or sockets: rsync's daemon refusing devices refuses --specials
 * with them, and devices must stay refused. --whole-file: on a LAN, sending a changed file whole
 * is cheaper than rsync's delta search. --modify-window=-1 compares mtimes to the nanosecond, so a
 * file rewritten within the same second as the first pass read it, at the same size, is still sent.
 */
const CLIENT_FLAGS = ["-rlptgoHAX", "--numeric-ids", "--delete", "--whole-file", "--modify-window=-1", "--sparse"];

/** rsyncd.conf for one pass: the module is the tree, chrooted, write-only, no devices. */
export function daemonConfig(tree: string): string {
  if (/[\n\r]/.test(tree)) throw invalidArgument("tree path holds a line break");
  return [
    `[${MODULE}]`,
    `path = ${tree}`,
    "use chroot = yes",
    "munge symlinks = no",
    "numeric ids = yes",
    "read only = no",
    "write only = yes",
    "list = no",
    "uid = 0",
    "gid = 0",
    // A migration archive never carries device nodes (tar-guard.ts); neither does a pass.
    "refuse options = devices copy-devices write-devices",
    "log file = /dev/null",
    "",
  ].join("\n");
}

export interface TreeReceive {
  done: Promise<void>;
  kill(): void;
}

/**
 * Target: runs the daemon for one pass with its stdio on `sock` (after admission). Resolves when
 * rsync has received the whole pass and exited 0.
 */
export async function receiveTree(sock: Duplex, tree: string, conf: string): Promise<TreeReceive> {
  await mkdir(tree, { recursive: true, mode: 0o700 });
  await writeFile(conf, daemonConfig(tree), { mode: 0o600 });
  const child = spawn("rsync", ["--server", "--daemon", `--config=${conf}`, "."], { stdio: ["pipe", "pipe", "pipe"] });
  const done = processDone(child, "rsync (pre-copy receiver)");
  done.catch(() => undefined);
  child.stdin!.on("error", () => undefined);
  sock.pipe(child.stdin!);
  child.stdout!.pipe(sock, { end: false });
  // A connection that dies mid-pass leaves rsync waiting on its input: end it, then make sure.
  const cut = () => {
    child.stdin!.destroy();
    setTimeout(() => child.kill("SIGKILL"), 2_000).unref();
  };
  sock.once("close", cut);
  void done.finally(() => sock.off("close", cut)).catch(() => undefined);
  return { done, kill: () => child.kill("SIGKILL") };
}

/**
 * Source: runs the rsync client for `tree` against a loopback port bridged to `sock`. `onBytes`
 * counts what leaves towards the target. Rejects with rsync's own words when it fails.
 */
export async function sendTree(sock: Duplex, tree: string, opts: { bwlimitBytesPerSecond: number; signal: AbortSignal; onBytes: (n: number) => void; vanishedOk?: boolean }): Promise<void> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const limit = opts.bwlimitBytesPerSecond > 0 ? [`--bwlimit=${Math.max(1, Math.round(opts.bwlimitBytesPerSecond / 1024))}`] : [];
  const child = spawn("rsync", [...CLIENT_FLAGS, ...limit, `${tree}/`, `rsync://127.0.0.1:${port}/${MODULE}/`], { stdio: ["ignore", "ignore", "pipe"] });
  const exit = once(child, "close") as Promise<[number | null]>;
  exit.catch(() => undefined);
  // Exit 24: files vanished while rsync read the tree. A running container deletes files; the
  // final pass, taken stopped, sends the deletion.
  const done = processDone(child, "rsync (pre-copy)").catch(async (err: unknown) => {
    const [code] = await exit;
    if (!(opts.vanishedOk && code === RSYNC_VANISHED)) throw err;
  });
  done.catch(() => undefined);
  const abort = () => child.kill("SIGKILL");
  opts.signal.addEventListener("abort", abort, { once: true });
  try {
    // The first connection is rsync's; the listener closes at once so no other gets through.
    const conn = await Promise.race([once(server, "connection").then(([c]) => c as Socket), done.then(() => Promise.reject(new CorralError("internal", "rsync exited before it connected")))]);
    server.close();
    conn.on("error", () => undefined);
    conn.on("data", (d: Buffer) => opts.onBytes(d.length));
    conn.pipe(sock);
    sock.pipe(conn);
    sock.once("close", () => conn.destroy());
    await done;
  } finally {
    server.close();
    opts.signal.removeEventListener("abort", abort);
    child.kill("SIGKILL");
  }
}

/**
 * Target: what a synced tree may not hold, checked before it is used (rsync wrote it as root,
 * inside its chroot): device nodes, xattrs outside user.* (file capabilities among them; ACLs are
 * kept as the archive keeps them). Returns its setuid/setgid files for the backend's id-map check.
 */
export async function checkSyncedTree(tree: string): Promise<SetidFile[]> {
  // Both walks read the same tree and neither writes: run them at once (two cores, mostly cached).
  const [found, listed] = await Promise.all([
    tool("find (synced tree)", "find", [tree, "-xdev", "(", "-type", "b", "-o", "-type", "c", "-o", "(", "-type", "f", "-perm", "/6000", ")", ")", "-printf", "%y %m %U %G %P\\0"]),
    tool("getfattr (synced tree)", "getfattr", ["-R", "-P", "-h", "--absolute-names", "-m", "^(security|trusted)\\.", tree]),
  ]);
  const setid: SetidFile[] = [];
  for (const rec of found.split("\0")) {
    if (!rec) continue;
    const [kind, mode, uid, gid, ...rest] = rec.split(" ");
    const path = rest.join(" ");
    if (kind === "b" || kind === "c") throw invalidArgument(`the pre-copied tree holds a device node ("${path.slice(0, 120)}"), which a migration never carries`);
    setid.push({ path, mode: parseInt(mode ?? "0", 8), uid: Number(uid), gid: Number(gid) });
  }
  const first = listed.split("\n").find((l) => l.startsWith("# file: "));
  if (first) throw invalidArgument(`the pre-copied tree holds xattrs outside user.* on "${first.slice(8 + tree.length).slice(0, 120)}" (file capabilities are not accepted)`);
  return setid;
}

/** A tool's stdout, or its failure in its own words. */
async function tool(what: string, cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new CorralError("internal", `${what} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
  return r.stdout;
}
