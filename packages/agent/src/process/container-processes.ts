// Processes of a container, read from cgroup membership and /proc: `ct top` lists the group's
// processes; `host pid` finds the group of a PID and the container whose group holds it. Works the
// same for every backend that can name its container's group (ProcessGroups).
import { readdir, readFile } from "node:fs/promises";
import type { ProcessInfo } from "@corral/wire";
import { detectCgroupVersion, type CgroupVersion } from "../usage/cgroup.js";

/** Clock ticks per second of /proc/PID/stat's times: USER_HZ, 100 on every Linux architecture Corral runs on. */
const CLK_TCK = 100;

const readText = (path: string): Promise<string | undefined> => readFile(path, "utf8").catch(() => undefined);

/** The group's path relative to the hierarchy root, from /proc/PID/cgroup: v1's memory hierarchy, or v2's unified one. */
export function cgroupPathOf(procCgroup: string, version: CgroupVersion): string | undefined {
  for (const line of procCgroup.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const controllers = (m[1] ?? "").split(",");
    if (version === 2 ? m[1] === "" : controllers.includes("memory")) return (m[2] ?? "").replace(/^\//, "");
  }
  return undefined;
}

/** Where a container's processes are: its group `rel` under the hierarchy that holds `cgroup.procs`. */
export interface ProcessGroup {
  rel: string;
}

export class ProcessReader {
  constructor(
    readonly version: CgroupVersion = detectCgroupVersion(),
    private readonly root = "/sys/fs/cgroup",
  ) {}

  /** The group of host PID `pid`, or undefined when there is no such process. */
  async groupOfPid(pid: number): Promise<string | undefined> {
    const text = await readText(`/proc/${pid}/cgroup`);
    return text === undefined ? undefined : cgroupPathOf(text, this.version);
  }

  /** The group of a container's init, or undefined when it is not running (initPid 0). */
  async groupOfInit(initPid: number): Promise<string | undefined> {
    return initPid > 0 ? this.groupOfPid(initPid) : undefined;
  }

  /** Whether group `rel` exists now (a stopped container's group is removed). */
  async hasGroup(rel: string): Promise<boolean> {
    return (await readText(`${this.dirOf(rel)}/cgroup.procs`)) !== undefined;
  }

  private dirOf(rel: string): string {
    return this.version === 2 ? `${this.root}/${rel}` : `${this.root}/memory/${rel}`;
  }

  /** Every PID in the group and the groups below it (a container's own init system may make some). */
  async pidsOf(rel: string): Promise<number[]> {
    const out: number[] = [];
    const walk = async (dir: string): Promise<void> => {
      const procs = await readText(`${dir}/cgroup.procs`);
      if (procs === undefined) return;
      for (const l of procs.split("\n")) if (l.trim()) out.push(Number(l));
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) await walk(`${dir}/${e.name}`);
    };
    await walk(this.dirOf(rel));
    return out;
  }

  /** Processes of the group, sorted by host PID; a process that exits meanwhile is left out. */
  async processesOf(group: ProcessGroup): Promise<ProcessInfo[]> {
    const pids = (await this.pidsOf(group.rel)).sort((a, b) => a - b);
    const users = new UserNames();
    const rows = await Promise.all(pids.map((p) => processInfo(p, users)));
    return rows.filter((r): r is ProcessInfo => r !== undefined);
  }
}

/** Whether a PID's group is the container's group or one below it. */
export const withinGroup = (pidGroup: string, containerGroup: string): boolean =>
  pidGroup === containerGroup || pidGroup.startsWith(`${containerGroup}/`);

/** The PID in the process's own (innermost) PID namespace, from NSpid in /proc/PID/status. */
export function innermostPid(status: string, hostPid: number): number {
  const m = /^NSpid:\s*([\d\s]+)$/m.exec(status);
  const ids = m?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  return ids.at(-1) ?? hostPid;
}

/** The uid inside the process's user namespace, from /proc/PID/uid_map ("inside outside count" lines). */
export function uidInside(uidMap: string, hostUid: number): number {
  for (const line of uidMap.split("\n")) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined || Number.isNaN(count)) continue;
    if (hostUid >= outside && hostUid < outside + count) return inside + (hostUid - outside);
  }
  return hostUid;
}

/** CPU seconds (user + system) from /proc/PID/stat; comm may hold spaces and parentheses. */
export function cpuSecondsOf(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** User names by uid from a container's /etc/passwd, read once per root per listing. */
class UserNames {
  private readonly byRoot = new Map<string, Promise<Map<number, string>>>();

  async name(hostPid: number, uid: number): Promise<string> {
    // Processes of one container share a root; keyed by its device+inode would be exact, the
    // init's view is enough: /proc/PID/root of each process reaches the container's files.
    const key = `/proc/${hostPid}/root/etc/passwd`;
    let m = this.byRoot.get(key);
    if (!m) {
      m = readText(key).then((t) => parsePasswd(t ?? ""));
      this.byRoot.set(key, m);
    }
    return (await m).get(uid) ?? String(uid);
  }
}

export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , uid] = line.split(":");
    if (name && uid !== undefined && /^\d+$/.test(uid) && !out.has(Number(uid))) out.set(Number(uid), name);
  }
  return out;
}

async function processInfo(hostPid: number, users: UserNames): Promise<ProcessInfo | undefined> {
  const [status, stat, cmdline, uidMap] = await Promise.all([
    readText(`/proc/${hostPid}/status`),
    readText(`/proc/${hostPid}/stat`),
    readText(`/proc/${hostPid}/cmdline`),
    readText(`/proc/${hostPid}/uid_map`),
  ]);
  if (status === undefined || stat === undefined) return undefined;
  const hostUid = Number(/^Uid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  const inside = uidInside(uidMap ?? "", hostUid);
  const args = (cmdline ?? "").split("\0").filter((a) => a !== "");
  const comm = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? "";
  return {
    hostPid,
    pid: innermostPid(status, hostPid),
    user: await users.name(hostPid, inside),
    hostUid,
    cpuSeconds: cpuSecondsOf(stat),
    command: args.length ? args.join(" ") : `[${comm}]`,
  };
}

/** The PID inside its container of host PID `pid`, or undefined when there is no such process. */
export async function pidInside(hostPid: number): Promise<number | undefined> {
  const status = await readText(`/proc/${hostPid}/status`);
  return status === undefined ? undefined : innermostPid(status, hostPid);
}
