// Killing a process together with everything it started. This kernel has no
// /proc/<pid>/task/<tid>/children, so the tree is built from each process's parent in /proc/*/stat.
import type { ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so parse after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

export async function descendantsOf(root: number): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  const children = new Map<number, number[]>();
  await Promise.all(
    pids.map(async (pid) => {
      const ppid = await parentOf(pid);
      if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    }),
  );
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
};

/**
 * SIGKILL to `pid` and all its descendants. They are stopped first, until the tree stops growing,
 * so a process cannot fork a child between our look at /proc and the kill.
 */
export async function killTree(pid: number): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 1) throw new RangeError(`refusing to kill the process tree of pid ${pid}`);
  const stopped = new Set([pid]);
  signal(pid, "SIGSTOP");
  for (let round = 0; round < 10; round++) {
    const fresh = (await descendantsOf(pid)).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      stopped.add(p);
      signal(p, "SIGSTOP");
    }
  }
  for (const p of stopped) signal(p, "SIGKILL");
}

/**
 * SIGKILL to a child started in a process group of its own (spawn `detached`), and so to everything
 * it started that stayed in the group (vzctl's halt inside the CT, nsenter).
 */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/**
 * Processes whose environment holds `entry` (e.g. "CORRAL_EXEC_ID=…"): how an exec that a
 * runtime started for us (LXD's) is found from the host, in whatever pid namespace it runs.
 */
export async function pidsWithEnv(entry: string): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      const env = await readFile(`/proc/${pid}/environ`, "latin1").catch(() => "");
      if (env.split("\0").includes(entry)) found.push(pid);
    }),
  );
  return found;
}
