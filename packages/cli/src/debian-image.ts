// Debian system images made with debootstrap from Debian's own packages (no image registry): a
// real init (systemd-sysv) as the seeds' Ubuntu containers have, packed as a rootfs tarball with
// numeric owners that LXC, LXD and OpenVZ (as an OS template) all take. Builds are cached outside
// any clone, under a key made of their inputs, so a second build (or test run) reuses the first.
// The tarball is kept zstd-compressed (a third of the bytes): every copy of it (to the controller,
// to each host, on first use) writes and hashes that much less, and zstd reads back at ~1 GB/s.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CorralError, invalidArgument } from "@corral/wire";

export const DEFAULT_CACHE = "/var/cache/corral/images";
export const DEFAULT_MIRROR = "http://deb.debian.org/debian";
/** What every image holds beside the asked-for packages: an init, and the tools a system container is used with. */
export const BASE_PACKAGES = ["systemd-sysv", "iproute2", "ca-certificates", "curl", "procps"];
/** Bumped when the build steps change, so old cache entries are not taken for new ones. */
const RECIPE = 1;

export interface DebianImageInputs {
  release: string;
  packages: string[];
  mirror: string;
}

export interface BuiltImage {
  /** The rootfs tarball (zstd-compressed tar, numeric owners, container ids from 0). */
  file: string;
  sha256: string;
  sizeBytes: number;
  /** Whether it came from the cache. */
  cached: boolean;
  /** Seconds the build took (0 when cached). */
  buildSeconds: number;
  key: string;
}

/** Debian package names (policy: lowercase letters, digits, + - .; at least two characters). */
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

export function normalizeInputs(i: DebianImageInputs): DebianImageInputs {
  if (!/^[a-z]+$/.test(i.release)) throw invalidArgument(`--release must be a Debian codename such as bookworm, not "${i.release}"`);
  for (const p of i.packages) if (!PACKAGE.test(p)) throw invalidArgument(`"${p}" is not a Debian package name`);
  if (!/^https?:\/\/[^\s]+$/.test(i.mirror)) throw invalidArgument(`--mirror must be an http(s) URL, not "${i.mirror}"`);
  return { release: i.release, packages: [...new Set(i.packages)].sort(), mirror: i.mirror.replace(/\/+$/, "") };
}

/** The cache key: a hash of everything the build depends on. */
export function cacheKey(i: DebianImageInputs): string {
  const n = normalizeInputs(i);
  return createHash("sha256").update(JSON.stringify({ recipe: RECIPE, base: BASE_PACKAGES, ...n })).digest("hex");
}

function sh(cmd: string, args: string[], onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" } });
    let tail = "";
    const take = (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      if (onLine) for (const l of text.split("\n")) if (l.trim()) onLine(l.trim());
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (e) => reject(new CorralError("failed_precondition", `cannot run ${cmd}: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new CorralError("internal", `${cmd} failed (exit ${code}): ${tail.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

/**
 * What image.json records: `zstd` is the tarball that is sent. An entry cached before images were
 * compressed has a plain rootfs.tar described by sha256/sizeBytes; it is kept beside the
 * compressed one, for checkouts whose code still reads it.
 */
interface CacheInfo {
  sha256?: string;
  sizeBytes?: number;
  zstd?: { sha256: string; sizeBytes: number };
  tarBytes?: number;
  inputs?: DebianImageInputs;
  builtUnixMs?: number;
  buildSeconds?: number;
}
const ZSTD_FILE = "rootfs.tar.zst";

/** zstd -T0 of `tar` into `out` (written beside, renamed when whole); returns its SHA-256 and size. */
async function compress(tar: string, out: string): Promise<{ sha256: string; sizeBytes: number }> {
  const part = `${out}.part-${process.pid}`;
  try {
    await sh("zstd", ["-q", "-f", "-T0", "-3", tar, "-o", part]);
    const r = { sha256: await sha256File(part), sizeBytes: (await stat(part)).size };
    await rename(part, out);
    return r;
  } finally {
    await rm(part, { force: true });
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest("hex");
}

/**
 * Builds (or finds in `cacheDir`) the image. The tarball is written to a directory of its own and
 * renamed into place when whole, so a killed build never leaves a cache entry behind.
 */
export async function buildDebianImage(inputs: DebianImageInputs, opts: { cacheDir?: string; progress?: (line: string) => void } = {}): Promise<BuiltImage> {
  const n = normalizeInputs(inputs);
  const key = cacheKey(n);
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE;
  const dir = join(cacheDir, key);
  const file = join(dir, ZSTD_FILE);
  const infoFile = join(dir, "image.json");
  if (existsSync(infoFile)) {
    const info = JSON.parse(await readFile(infoFile, "utf8")) as CacheInfo;
    if (info.zstd && existsSync(file)) return { file, ...info.zstd, cached: true, buildSeconds: 0, key };
    // An entry cached before images were compressed: compressed once, in place (same inputs, same files inside).
    const plain = join(dir, "rootfs.tar");
    if (existsSync(plain)) {
      const zstd = await compress(plain, file);
      await writeFile(infoFile, JSON.stringify({ ...info, zstd } satisfies CacheInfo, null, 2));
      return { file, ...zstd, cached: true, buildSeconds: 0, key };
    }
  }
  const t0 = Date.now();
  const work = `${dir}.build-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, "rootfs"), { recursive: true });
  try {
    const include = [...BASE_PACKAGES, ...n.packages].join(",");
    await sh("debootstrap", ["--variant=minbase", `--include=${include}`, n.release, join(work, "rootfs"), n.mirror], opts.progress);
    // A system container has no console to log into and gets its address from its runtime.
    await rm(join(work, "rootfs/var/cache/apt/archives"), { recursive: true, force: true });
    await mkdir(join(work, "rootfs/var/cache/apt/archives/partial"), { recursive: true });
    await rm(join(work, "rootfs/var/lib/apt/lists"), { recursive: true, force: true });
    await mkdir(join(work, "rootfs/var/lib/apt/lists"), { recursive: true });
    await writeFile(join(work, "rootfs/etc/hostname"), "debian\n");
    // Device nodes are the runtime's to make (LXC autodev, LXD, vzctl); an unprivileged extract cannot mknod.
    await sh("tar", ["-C", join(work, "rootfs"), "--numeric-owner", "--xattrs", "--exclude=./dev/*", "-cf", join(work, "rootfs.tar"), "."]);
    await rm(join(work, "rootfs"), { recursive: true, force: true });
    const tarBytes = (await stat(join(work, "rootfs.tar"))).size;
    const zstd = await compress(join(work, "rootfs.tar"), join(work, ZSTD_FILE));
    await rm(join(work, "rootfs.tar"), { force: true });
    const buildSeconds = +((Date.now() - t0) / 1000).toFixed(1);
    const info: CacheInfo = { zstd, tarBytes, inputs: n, builtUnixMs: Date.now(), buildSeconds };
    await writeFile(join(work, "image.json"), JSON.stringify(info, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    return { file, ...zstd, cached: false, buildSeconds, key };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
