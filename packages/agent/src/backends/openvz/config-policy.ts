// What an OpenVZ archive from another host may carry (DESIGN.md, "Threat model"): one private area
// and one CTID.conf whose keys are the resource and identity settings vzctl and Corral write.
// Device access, capabilities, bind mounts, host network devices and kernel features are refused
// with the key named. The staged tree is checked with lstat: nothing is followed through a symlink.
import { constants } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument } from "@corral/wire";
import type { TarPolicy } from "../../archive/tar-guard.js";
import { rewriteConfigForHost } from "./config.js";

/** A private area is a whole rootfs with its own setuid programs; it never leaves root-only directories. */
export const OPENVZ_TAR_POLICY: TarPolicy = { setid: "allow" };

const MAX_CONFIG = 256 * 1024;

// Keys vzctl create/set and Corral write (ve-vswap sample, UBC resources, identity); nothing else moves.
const ALLOWED_KEYS = new Set([
  ...["PHYSPAGES", "SWAPPAGES", "VM_OVERCOMMIT", "DISKSPACE", "DISKINODES", "QUOTATIME", "QUOTAUGIDLIMIT"],
  ...["CPUUNITS", "CPULIMIT", "CPUS", "CPUMASK", "NODEMASK", "IOPRIO", "IOLIMIT", "IOPSLIMIT"],
  ...["KMEMSIZE", "LOCKEDPAGES", "PRIVVMPAGES", "SHMPAGES", "NUMPROC", "VMGUARPAGES", "OOMGUARPAGES"],
  ...["NUMTCPSOCK", "NUMFLOCK", "NUMPTY", "NUMSIGINFO", "TCPSNDBUF", "TCPRCVBUF", "OTHERSOCKBUF"],
  ...["DGRAMRCVBUF", "NUMOTHERSOCK", "DCACHESIZE", "NUMFILE", "AVNUMPROC", "NUMIPTENT"],
  ...["NETFILTER", "VE_ROOT", "VE_PRIVATE", "VE_LAYOUT", "OSTEMPLATE", "ORIGIN_SAMPLE"],
  ...["HOSTNAME", "DESCRIPTION", "IP_ADDRESS", "NAME", "ONBOOT", "STOP_TIMEOUT", "NAMESERVER", "SEARCHDOMAIN"],
  // veth interfaces (vzctl --netif_add): names and MACs; host_ifname is renamed for a new CTID.
  "NETIF",
]);

/**
 * The per-CT action scripts of vzctl(8), ACTION SCRIPTS, which vzmigrate copies with the CT.
 * CTID.start and CTID.stop run inside the container, with no more power than the CT has.
 * CTID.mount, .umount, .premount and .postumount run as root on the host: from another host they
 * are code that would run here, so the OpenVZ backend installs them only when its agent was told
 * to trust its peers' (--openvz-host-scripts install); a conversion never installs any of them.
 */
export const IN_CT_ACTION_SCRIPTS = ["start", "stop"] as const;
export const HOST_ACTION_SCRIPTS = ["mount", "umount", "premount", "postumount"] as const;
export const ACTION_SCRIPTS = [...IN_CT_ACTION_SCRIPTS, ...HOST_ACTION_SCRIPTS] as const;
export type ActionScript = (typeof ACTION_SCRIPTS)[number];
export const isHostActionScript = (a: string): boolean => (HOST_ACTION_SCRIPTS as readonly string[]).includes(a);

/** The CT's second-level quotas as `vzdqdump CTID -U -G -T` printed them on the source (vzdq-dump.ts). */
export const QUOTA_DUMP_SUFFIX = "vzdqdump";
const MAX_QUOTA_DUMP = 8 * 1024 * 1024;

/**
 * A CT renumbered on the way (its CTID is taken here) gets its veth host-side names after the new
 * CTID, as vzctl names them (veth<CTID>.<n>); names a user chose are kept.
 */
export function renumberNetif(confText: string, from: number, to: number): string {
  return confText.replace(/^NETIF="(.*)"$/m, (_, v: string) => {
    const renamed = v.replace(new RegExp(`(^|,)host_ifname=veth${from}\\.`, "g"), `$1host_ifname=veth${to}.`);
    return `NETIF="${renamed}"`;
  });
}

export function checkOpenvzConfig(text: string): void {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const key = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
    if (!key) throw invalidArgument(`container config from the archive has a line that is not KEY="value": ${JSON.stringify(line.slice(0, 80))}`);
    if (!ALLOWED_KEYS.has(key)) throw invalidArgument(`container config from the archive sets "${key}", which Corral does not carry across hosts`);
  }
  // Values: plain KEY="value" lines only, nothing a shell would expand (vzctl's scripts source them).
  rewriteConfigForHost(text, {});
}

async function realDir(path: string, what: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st && !st.isDirectory()) throw invalidArgument(`archive's "${what}" is not a directory (a symlink?)`);
}

async function regularFile(path: string, what: string, max = MAX_CONFIG): Promise<void> {
  const st = await lstat(path);
  if (!st.isFile() || st.size > max) throw invalidArgument(`archive's "${what}" is not a regular file of at most ${max} bytes`);
}

/**
 * Every directory on the way to the private area and the config is a real directory, the config
 * a regular file with allowed keys only. Run after extraction and again before commit.
 */
export async function checkStagedOpenvz(stagingDir: string): Promise<void> {
  for (const rel of ["etc", "etc/vz", "etc/vz/conf", "var", "var/lib", "var/lib/vz", "var/lib/vz/private"]) {
    await realDir(join(stagingDir, rel), rel);
  }
  const confDir = join(stagingDir, "etc/vz/conf");
  const files = await readdir(confDir).catch(() => [] as string[]);
  for (const f of files) {
    const action = /^\d+\.([a-z]+)$/.exec(f)?.[1];
    if (action && (ACTION_SCRIPTS as readonly string[]).includes(action)) await regularFile(join(confDir, f), `etc/vz/conf/${f}`);
    if (action === QUOTA_DUMP_SUFFIX) await regularFile(join(confDir, f), `etc/vz/conf/${f}`, MAX_QUOTA_DUMP);
  }
  for (const f of files) {
    if (!/^\d+\.conf$/.test(f)) continue;
    const fh = await open(join(confDir, f), constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      throw invalidArgument(`archive's "etc/vz/conf/${f}" cannot be opened (${err.code ?? err.message}): is it a symlink?`, err);
    });
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_CONFIG) throw invalidArgument(`archive's "etc/vz/conf/${f}" is not a regular file of at most ${MAX_CONFIG} bytes`);
      checkOpenvzConfig(await fh.readFile("utf8"));
    } finally {
      await fh.close();
    }
    await realDir(join(stagingDir, "var/lib/vz/private", f.slice(0, -5)), `var/lib/vz/private/${f.slice(0, -5)}`);
  }
}
