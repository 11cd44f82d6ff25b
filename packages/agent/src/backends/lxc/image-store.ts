// LXC images: rootfs tarballs kept per host under `<lxcpath>/.corral-images/`, named by image,
// checked by SHA-256 as they arrive. A container made from one gets the rootfs extracted with its
// owners mapped: for an unprivileged container the extraction runs in the container's user
// namespace (lxc-usernsexec, as LXC's own templates do), so container id N lands as host id base+N.
// The OpenVZ backend keeps its OS templates from images with the same store, in vz.conf's
// TEMPLATE/cache, each file named as vzctl looks for it (name.tar, name.tar.gz).
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { createReadStream } from "node:fs";
import { sniffTarball, type TarballKind } from "../docker/image-import.js";
import { CorralError, failedPrecondition, invalidArgument, notFound, type BackendName, type ImageInfo } from "@corral/wire";
import { run, lastLine } from "../../process/run.js";
import type { IdMap } from "./id-map.js";

/** Image names as `image import` takes them (app:1, debian-docker). */
const IMAGE_NAME = /^[a-z0-9][a-z0-9._:-]{0,127}$/;

export function checkImageName(name: string): void {
  if (!IMAGE_NAME.test(name)) throw invalidArgument(`invalid image name "${name}": lowercase letters, digits, ".", "_", ":" and "-"`);
}

interface Meta {
  name: string;
  sha256: string;
  sizeBytes: number;
  /** The bytes' file name in the store's directory when not `<base>.tar` (OpenVZ: `<base>.tar.gz`). */
  file?: string;
}

export interface ImageStoreOptions {
  /** The backend the images are for (default lxc). */
  backend?: BackendName;
  /**
   * The file name for an image's bytes, given the image's base name and the file they arrived in
   * (whole and hashed by then), which it may rewrite in a form the runtime reads; throws to refuse
   * the image. Default `<base>.tar` (extract tells tar the compression).
   */
  fileName?: (base: string, tmpFile: string) => Promise<string>;
}

/** What a tarball file is (tar, gzip or zstd), from its first bytes. */
export async function tarballKind(file: string): Promise<TarballKind> {
  const { kind, stream } = await sniffTarball(createReadStream(file, { start: 0, end: 511 }));
  stream.destroy();
  return kind;
}

/** tar's flag for reading that kind from a pipe, where it cannot detect compression itself. */
const READ_FLAG: Record<TarballKind, string[]> = { tar: [], gzip: ["--gzip"], zstd: ["--zstd"] };

/** An image name as a file's base name (":" is not in vzctl's template names). */
export const imageBase = (name: string): string => name.replace(/:/g, "_");

export class LxcImageStore {
  private readonly backend: BackendName;
  constructor(
    private readonly dir: string,
    private readonly hostName: string,
    private readonly opts: ImageStoreOptions = {},
  ) {
    this.backend = opts.backend ?? "lxc";
  }

  private file(name: string): string {
    return join(this.dir, `${imageBase(name)}.tar`);
  }
  private metaFile(name: string): string {
    return `${this.file(name)}.json`;
  }
  /** Where image `name`'s bytes are (undefined when this host does not hold it). */
  async bytesOf(name: string): Promise<string | undefined> {
    if (!this.has(name)) return undefined;
    const m = JSON.parse(await readFile(this.metaFile(name), "utf8")) as Meta;
    return m.file ? join(this.dir, m.file) : this.file(name);
  }

  has(name: string): boolean {
    return existsSync(this.metaFile(name));
  }

  async put(name: string, tarball: Readable): Promise<ImageInfo> {
    checkImageName(name);
    await mkdir(this.dir, { recursive: true });
    // Only root reaches the images; an unprivileged extraction reads the file through an fd it is given.
    await chmod(this.dir, 0o700);
    const tmp = `${this.file(name)}.part-${process.pid}`;
    const hash = createHash("sha256");
    let sizeBytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(tarball, count, createWriteStream(tmp, { mode: 0o600 }));
      // GNU tar reads plain, gzip and zstd alike; list it once so a non-tarball is refused here, not at create.
      const t = await run("tar", ["-tf", tmp], { timeoutMs: 300_000 });
      if (t.code !== 0) throw invalidArgument(`image "${name}" is not a tar archive: ${lastLine(t.stderr)}`);
      const sha256 = hash.digest("hex");
      const file = this.opts.fileName ? await this.opts.fileName(imageBase(name), tmp) : undefined;
      // A replaced image whose format changed leaves no old file that vzctl would still find first.
      const dest = file ? join(this.dir, file) : this.file(name);
      const before = await this.bytesOf(name);
      await rename(tmp, dest);
      if (before && before !== dest) await rm(before, { force: true });
      await writeFile(this.metaFile(name), JSON.stringify({ name, sha256, sizeBytes, ...(file ? { file } : {}) } satisfies Meta));
      return { name, backend: this.backend, host: this.hostName, sizeBytes, id: `sha256:${sha256}` };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async list(): Promise<ImageInfo[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const metas = files.filter((f) => f.endsWith(".tar.json"));
    return Promise.all(metas.map(async (f) => this.infoOf(join(this.dir, f))));
  }

  async remove(name: string): Promise<void> {
    checkImageName(name);
    const bytes = await this.bytesOf(name);
    if (!bytes) throw notFound(`image "${name}" is not on host ${this.hostName} (${this.backend})`);
    await rm(this.metaFile(name), { force: true });
    await rm(bytes, { force: true });
  }

  private async infoOf(metaFile: string): Promise<ImageInfo> {
    const m = JSON.parse(await readFile(metaFile, "utf8")) as Meta;
    return { name: m.name, backend: this.backend, host: this.hostName, sizeBytes: m.sizeBytes, id: `sha256:${m.sha256}` };
  }


  /**
   * Extracts image `name` into `rootfs` (which must not exist yet). With an id map the rootfs
   * directory is first given to the container's root, and tar runs in the user namespace; device
   * nodes are left to the runtime (an unprivileged extract cannot make them).
   */
  async extract(name: string, rootfs: string, map: IdMap | undefined): Promise<void> {
    if (!this.has(name)) {
      throw failedPrecondition(`image "${name}" is not on host ${this.hostName}: import or build it for lxc first (corral image import FILE --name ${name} --backend lxc)`);
    }
    const file = this.file(name);
    const kind = await tarballKind(file);
    await mkdir(rootfs, { recursive: false });
    const args = [...READ_FLAG[kind], "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", rootfs, "--exclude=./dev/*"];
    let r;
    if (map) {
      await chown(rootfs, map.uid, map.gid);
      await chmod(rootfs, 0o755);
      const m = [`u:0:${map.uid}:${map.count}`, `g:0:${map.gid}:${map.count}`].flatMap((x) => ["-m", x]);
      // stdin is the tarball, opened by root: the mapped root never needs to reach the image store.
      // cd as root first: the container's directory above the rootfs is 0770, closed to the mapped root.
      r = await run("sh", ["-c", `cd "$1" && exec lxc-usernsexec ${m.join(" ")} -- tar ${args.filter((a) => a !== "-C" && a !== rootfs).join(" ")} < "$0"`, file, rootfs], { timeoutMs: 900_000 });
    } else {
      r = await run("sh", ["-c", `exec tar ${args.join(" ")} < "$0"`, file], { timeoutMs: 900_000 });
    }
    if (r.code !== 0) throw new CorralError("internal", `extracting image "${name}" on ${this.hostName} failed: ${lastLine(r.stderr || r.stdout)}`);
    await lstat(join(rootfs, "sbin/init")).catch(() => {
      throw failedPrecondition(`image "${name}" has no /sbin/init: it is not a system image (LXC runs the image's init)`);
    });
  }
}
