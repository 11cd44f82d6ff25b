// OpenVZ → LXC (ct migrate --backend lxc): the CT's private area becomes the rootfs, and its
// CTID.conf the parts of an LXC config Corral writes (hostname, memory, CPUs; the network is this
// host's, set at commit as for every restore). What CTID.conf holds beyond that is listed by the
// source's plan (openvz/conversion.ts) and left behind. The result is staged exactly as an
// "lxc-dir-tar/1" archive would be, so commitRestore treats both alike.
import { chown, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { NO_GRANTS, type RestoreGrants } from "@corral/wire";
import { parseConfig } from "../openvz/config.js";
import { readStagedCt, stageOpenvzArchive } from "../openvz/staged-ct.js";
import { checkStagedLxc } from "./config-policy.js";
import { LxcConfig, MEMSW } from "./config.js";
import { carriedLimits, swapBytesOf } from "../openvz/conversion.js";
import { CONTAINER_IDS, hostIdMap, idMapLines, shiftOwners } from "./id-map.js";

/** An OpenVZ 6 CT's ids are the host's own (no user namespace): container id N is host id N. */
const OPENVZ_IDS = { uid: 0, gid: 0, count: CONTAINER_IDS };

/** A hostname a converted container may carry (what LXC's policy takes for lxc.uts.name). */
export const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

/** Stages an OpenVZ archive as the LXC container `name`: `<staging>/<name>/{config,rootfs}`. */
export async function stageFromOpenvz(name: string, input: Readable, stagingDir: string, grants: RestoreGrants = NO_GRANTS): Promise<void> {
  const raw = join(stagingDir, ".openvz");
  await mkdir(raw, { mode: 0o700 });
  await stageOpenvzArchive(input, raw);
  const ct = await readStagedCt(name, raw);
  const conf = parseConfig(ct.confText);
  const dir = join(stagingDir, name);
  const rootfs = join(dir, "rootfs");
  await mkdir(dir, { mode: 0o770 });
  await rename(ct.privateDir, rootfs);
  await rm(raw, { recursive: true, force: true });
  const cfg = new LxcConfig("");
  cfg.add("lxc.include", "/usr/share/lxc/config/common.conf");
  cfg.add("lxc.arch", "x86_64");
  cfg.add("lxc.rootfs.path", `dir:${rootfs}`);
  const hostname = conf.get("HOSTNAME") ?? "";
  cfg.add("lxc.uts.name", HOSTNAME_RE.test(hostname) ? hostname : name);
  if (!grants.privileged) {
    // Unprivileged, as every Corral LXC container: the CT's owners move onto this host's map.
    const to = await hostIdMap();
    await shiftOwners(rootfs, OPENVZ_IDS, to);
    // The container's directory belongs to its mapped root, as lxc-create leaves it, so that the
    // container's root passes through it to the rootfs.
    await chown(dir, to.uid, to.gid);
    for (const [k, v] of idMapLines(to)) cfg.add(k, v);
  }
  cfg.set("lxc.net.0.type", "empty").set("lxc.apparmor.profile", "unconfined");
  const limits = carriedLimits(conf);
  cfg.setLimits(limits);
  // VSwap: RAM plus SWAPPAGES is what the CT could hold, as the stand-in and OpenVZ's memsw do.
  const swap = swapBytesOf(conf);
  if (limits.memoryBytes > 0 && swap !== undefined) cfg.set(MEMSW, String(limits.memoryBytes + swap));
  await writeFile(join(dir, "config"), cfg.toString());
  // The same checks an LXC archive meets (setuid files of mapped ids only, the keys Corral writes).
  await checkStagedLxc(name, stagingDir, undefined, grants);
}
