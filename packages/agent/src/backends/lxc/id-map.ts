// The id map of unprivileged LXC containers: container ids 0..65535 onto a subordinate range of
// the agent's user from /etc/subuid and /etc/subgid (as `lxc-create` with `lxc.idmap` in the seed's
// unprivileged section). Files of the rootfs are owned by the mapped host ids; a container moved
// to a host whose range differs has its owners shifted onto the target's range.
import { lchown, lstat, chmod, readdir, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { failedPrecondition } from "@corral/wire";
import type { OwnerShift } from "../../files/container-copy.js";

/** Ids a container sees: 0..CONTAINER_IDS-1 (root to nobody and the usual system ranges). */
export const CONTAINER_IDS = 65536;
/** Where an id outside the source map lands on the target: the container's nobody. */
const NOBODY = 65534;

export interface IdMap {
  /** First host uid/gid that container id 0 maps onto. */
  uid: number;
  gid: number;
  count: number;
}

/** The first range of `user` (by name or uid) in a subordinate-id file's text that holds CONTAINER_IDS ids. */
export function subordinateStart(text: string, user: string, uid: number): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^\s*([^:#\s]+):(\d+):(\d+)\s*$/.exec(line);
    if (m && (m[1] === user || m[1] === String(uid)) && Number(m[3]) >= CONTAINER_IDS && Number(m[2]) >= CONTAINER_IDS) return Number(m[2]);
  }
  return undefined;
}

/** This host's id map for unprivileged containers; a clear error when /etc/subuid or /etc/subgid has no range. */
export async function hostIdMap(files = { subuid: "/etc/subuid", subgid: "/etc/subgid" }): Promise<IdMap> {
  const { username, uid } = userInfo();
  const read = (f: string) => readFile(f, "utf8").catch(() => "");
  const [u, g] = [subordinateStart(await read(files.subuid), username, uid), subordinateStart(await read(files.subgid), username, uid)];
  if (u === undefined || g === undefined) {
    const missing = u === undefined ? files.subuid : files.subgid;
    throw failedPrecondition(
      `no subordinate id range of ${CONTAINER_IDS} ids for ${username} in ${missing}: add one (e.g. "${username}:100000:${CONTAINER_IDS}", as scripts/setup.sh does) or create with --privileged`,
    );
  }
  return { uid: u, gid: g, count: CONTAINER_IDS };
}

/** The `lxc.idmap` lines of a map. */
export const idMapLines = (m: IdMap): [string, string][] => [
  ["lxc.idmap", `u 0 ${m.uid} ${m.count}`],
  ["lxc.idmap", `g 0 ${m.gid} ${m.count}`],
];

/** The map an LXC config holds (container id 0's lines), or undefined for a privileged container. */
export function idMapOfConfig(text: string): IdMap | undefined {
  const start = (kind: string) => {
    const m = new RegExp(`^\\s*lxc\\.idmap\\s*=\\s*${kind} 0 (\\d+) (\\d+)\\s*$`, "m").exec(text);
    return m ? { start: Number(m[1]), count: Number(m[2]) } : undefined;
  };
  const u = start("u");
  const g = start("g");
  if (!u || !g) return undefined;
  return { uid: u.start, gid: g.start, count: Math.min(u.count, g.count) };
}

/** Moves one id from range `from` onto range `to` (both of `count` ids); an id outside `from` becomes `to`'s nobody. */
export function shiftId(id: number, from: number, to: number, count: number): number {
  return id >= from && id < from + count ? id - from + to : to + NOBODY;
}

/**
 * Re-owns every file under `root` from map `from` onto map `to` without following symlinks.
 * chown clears setuid/setgid bits, so the mode is written back after it. Returns the files changed.
 */
export async function shiftOwners(root: string, from: IdMap, to: IdMap): Promise<number> {
  if (from.uid === to.uid && from.gid === to.gid) return 0;
  const count = Math.min(from.count, to.count);
  let changed = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    await lchown(path, shiftId(st.uid, from.uid, to.uid, count), shiftId(st.gid, from.gid, to.gid, count));
    if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(path, st.mode & 0o7777);
    changed++;
    if (st.isDirectory()) for (const e of await readdir(path)) await visit(join(path, e));
  };
  await visit(root);
  return changed;
}

/** An unprivileged container's ids as it sees them: 0.. of CONTAINER_IDS. */
export const CONTAINER_VIEW: IdMap = { uid: 0, gid: 0, count: CONTAINER_IDS };

/**
 * ct cp's owners for a container with map `map`: what arrives is re-owned onto the map (root inside
 * must own its files), what leaves is mapped back by tar's owner and group maps.
 */
export function ownerShift(map: IdMap): OwnerShift {
  return {
    inward: async (tree) => void (await shiftOwners(tree, CONTAINER_VIEW, map)),
    outward: async (tree) => {
      const uids = new Set<number>();
      const gids = new Set<number>();
      const visit = async (path: string): Promise<void> => {
        const st = await lstat(path);
        uids.add(st.uid);
        gids.add(st.gid);
        if (st.isDirectory()) for (const e of await readdir(path)) await visit(join(path, e));
      };
      await visit(tree);
      const lines = (ids: Set<number>, base: number) => [...ids].map((id) => `+${id} +${shiftId(id, base, 0, map.count)}\n`).join("");
      return { owners: lines(uids, map.uid), groups: lines(gids, map.gid) };
    },
  };
}
