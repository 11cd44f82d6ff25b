// What an LXD backup from another host may carry (DESIGN.md, "Threat model"). The backup is a tar
// (maybe zstd/gzip inside) that LXD unpacks itself, so it is decompressed here (size-capped),
// checked by the same strict tar reader as every other archive, and staged as the plain tar that was
// checked. Its instance config may hold only what Corral writes: limits, user.*, environment.*,
// image metadata, LXD's own volatile keys (id maps onto subordinate ids only) and Corral's NIC with
// the one raw.lxc that gives it its address; other raw.*, security.* (other than "false") and devices
// other than Corral's NIC, port proxies and the root disk are refused with the key named.
import { LIMIT_CONFIG_KEYS } from "./config.js";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { parse } from "yaml";
import { invalidArgument, NO_GRANTS, type RestoreGrants } from "@corral/wire";
import { ByteCap, freeBytes } from "../../archive/byte-cap.js";
import { copyTarSafely } from "../../archive/safe-extract.js";
import type { TarPolicy } from "../../archive/tar-guard.js";
import { decompress } from "../../transfer/compression.js";
import { sniffTarball } from "../docker/image-import.js";
import { isCorralRawLxc, NESTING_CONFIG } from "./config.js";

const INDEX = "backup/index.yaml";
const INSTANCE = "backup/container/backup.yaml";

/** LXD unpacks into its own storage (instance dirs are root-only); setuid programs may move. */
export const LXD_TAR_POLICY: TarPolicy = { setid: "allow", capture: [INDEX, INSTANCE] };

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** An LXD id map (JSON list of {Hostid, Nsid, Maprange, ...}) that maps onto subordinate ids only. */
function subordinateIdmap(v: string): boolean {
  try {
    const list = JSON.parse(v) as unknown;
    return Array.isArray(list) && list.every((e) => isRecord(e) && typeof e.Hostid === "number" && e.Hostid >= 65536);
  } catch {
    return false;
  }
}

function checkConfigKey(where: string, key: string, value: unknown, grants: RestoreGrants): void {
  const v = typeof value === "string" ? value : String(value);
  const refuse = (why = "which Corral does not carry across hosts") => {
    throw invalidArgument(`LXD backup sets ${where} "${key}", ${why}`);
  };
  // What --nesting and --privileged write, value for value, only when the controller's spec grants it.
  if (grants.nesting && NESTING_CONFIG[key] === v) return;
  if (grants.privileged && key === "security.privileged" && v === "true") return;
  // The one raw key Corral writes: nesting's cgroup mount (when granted) and the address of its NIC
  // (config.ts, rawLxc); the target rewrites the address.
  if (key === "raw.lxc" && isCorralRawLxc(v, grants.nesting)) return;
  if (key.startsWith("raw.")) refuse();
  if (key.startsWith("security.")) return v === "false" ? undefined : refuse();
  if (LIMIT_CONFIG_KEYS.includes(key)) return;
  // What a converted OpenVZ CT's SWAPPAGES became (lxd/convert-in.ts).
  if (key === "limits.memory.swap" && (v === "true" || v === "false")) return;
  if (key.startsWith("user.") || key.startsWith("environment.") || key.startsWith("image.")) return;
  if (key === "volatile.idmap.next" || key === "volatile.last_state.idmap" || key === "volatile.idmap.current") {
    return subordinateIdmap(v) ? undefined : refuse("mapping onto host ids below 65536");
  }
  if (key === "volatile.idmap.base") return /^\d+$/.test(v) && (Number(v) === 0 || Number(v) >= 65536) ? undefined : refuse("below 65536");
  if (key.startsWith("volatile.")) return;
  refuse();
}

function checkDevice(where: string, name: string, d: unknown): void {
  if (!isRecord(d)) throw invalidArgument(`LXD backup ${where} device "${name}" is not a map`);
  const keys = Object.keys(d).sort().join(",");
  if (d.type === "disk") {
    // The root disk only: a disk with a host `source` would mount a host path into the container.
    if (keys === "path,pool,type" && d.path === "/" && typeof d.pool === "string") return;
    // With --disk: the same root disk with its quota (config.ts, rootDiskDevice).
    if (keys === "path,pool,size,type" && d.path === "/" && typeof d.pool === "string" && typeof d.size === "string" && /^\d{1,20}$/.test(d.size)) return;
    throw invalidArgument(`LXD backup ${where} device "${name}" is a disk other than the root disk (keys ${keys})`);
  }
  if (d.type === "nic") {
    // Corral's NIC (config.ts, nicDevices): bridged, nothing else; the target points it at its own bridge.
    const ok =
      keys === "hwaddr,mtu,name,nictype,parent,type" &&
      d.nictype === "bridged" &&
      d.name === "eth0" &&
      typeof d.parent === "string" &&
      /^[A-Za-z0-9_.-]{1,15}$/.test(d.parent) &&
      typeof d.mtu === "string" &&
      /^\d{3,4}$/.test(d.mtu) &&
      typeof d.hwaddr === "string" &&
      /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(d.hwaddr);
    if (ok) return;
    throw invalidArgument(`LXD backup ${where} device "${name}" is a NIC Corral did not write`);
  }
  if (d.type === "proxy") {
    // Corral's published ports: listen on the host, connect inside the container, nothing else.
    const ok =
      keys === "connect,listen,type" &&
      typeof d.listen === "string" &&
      /^(tcp|udp):0\.0\.0\.0:\d{1,5}$/.test(d.listen) &&
      typeof d.connect === "string" &&
      /^(tcp|udp):127\.0\.0\.1:\d{1,5}$/.test(d.connect);
    if (ok) return;
    throw invalidArgument(`LXD backup ${where} device "${name}" is a proxy Corral did not write`);
  }
  throw invalidArgument(`LXD backup ${where} device "${name}" has type "${String(d.type)}", which Corral does not carry across hosts`);
}

/** Checks one instance description (index.yaml's config.container, or backup.yaml's container). */
function checkInstance(where: string, inst: unknown, grants: RestoreGrants): void {
  if (!isRecord(inst)) throw invalidArgument(`LXD backup ${where} has no instance description`);
  for (const field of ["config", "expanded_config"]) {
    const cfg = inst[field] ?? {};
    if (!isRecord(cfg)) throw invalidArgument(`LXD backup ${where}.${field} is not a map`);
    for (const [k, v] of Object.entries(cfg)) checkConfigKey(`${where}.${field}`, k, v, grants);
  }
  for (const field of ["devices", "expanded_devices"]) {
    const devs = inst[field] ?? {};
    if (!isRecord(devs)) throw invalidArgument(`LXD backup ${where}.${field} is not a map`);
    for (const [k, v] of Object.entries(devs)) checkDevice(`${where}.${field}`, k, v);
  }
  const profiles = inst.profiles ?? [];
  if (!Array.isArray(profiles) || profiles.some((p) => p !== "default")) {
    throw invalidArgument(`LXD backup ${where} uses profiles other than "default"`);
  }
}

function yamlOf(captured: Map<string, Buffer>, path: string): Record<string, unknown> {
  const text = captured.get(path);
  if (text === undefined) throw invalidArgument(`LXD backup has no ${path}`);
  let doc: unknown;
  try {
    doc = parse(text.toString("utf8"), { maxAliasCount: 0 });
  } catch (err) {
    throw invalidArgument(`LXD backup's ${path} is not valid YAML`, err);
  }
  if (!isRecord(doc)) throw invalidArgument(`LXD backup's ${path} is not a map`);
  return doc;
}

/** Throws naming the first setting in the backup's two instance descriptions that Corral would not write. */
export function checkLxdBackup(captured: Map<string, Buffer>, grants: RestoreGrants = NO_GRANTS): void {
  const index = yamlOf(captured, INDEX);
  if (index.snapshots !== undefined && !(Array.isArray(index.snapshots) && index.snapshots.length === 0)) {
    throw invalidArgument("LXD backup carries snapshots; Corral moves the instance only");
  }
  checkInstance("index.yaml config.container", isRecord(index.config) ? index.config.container : undefined, grants);
  const instance = yamlOf(captured, INSTANCE);
  checkInstance("backup.yaml container", instance.container, grants);
}

/**
 * Stages an incoming backup as `file`: decompressed (capped at the free space of `dir`), checked by
 * the strict tar reader, its instance config checked, and only the checked tar bytes written.
 */
export async function stageCheckedBackup(input: Readable, file: string, dir: string, grants: RestoreGrants = NO_GRANTS): Promise<void> {
  let sniffed: Awaited<ReturnType<typeof sniffTarball>>;
  try {
    sniffed = await sniffTarball(input);
  } catch (err) {
    input.destroy();
    throw invalidArgument("the archive is not an LXD backup: expected a tar, tar.zst or tar.gz stream", err);
  }
  let plain: Readable = sniffed.stream;
  let finished = Promise.resolve();
  if (sniffed.kind === "zstd") {
    const d = decompress(sniffed.stream, "zstd");
    d.finished.catch(() => undefined);
    ({ stream: plain, finished } = d);
  } else if (sniffed.kind === "gzip") {
    const gunzip = createGunzip();
    sniffed.stream.on("error", (e: Error) => gunzip.destroy(e));
    plain = sniffed.stream.pipe(gunzip);
  }
  const cap = new ByteCap(await freeBytes(dir), "the free space for staging");
  plain.on("error", (e: Error) => cap.destroy(e));
  try {
    const checked = await copyTarSafely(plain.pipe(cap), file, LXD_TAR_POLICY);
    await finished;
    checkLxdBackup(checked.captured, grants);
  } finally {
    // A decompressor blocked on a full pipe would live on: close its output.
    plain.destroy();
  }
}
