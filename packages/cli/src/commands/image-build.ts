import { BACKEND_NAMES, parseBackend, type BackendName, type ImageInfo } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { UsageError, asUsage } from "../usage-error.js";
import { availableBackends } from "../present.js";
import { buildDebianImage, DEFAULT_CACHE, DEFAULT_MIRROR } from "../debian-image.js";
import { importedLine, uploadImage } from "./image-import.js";

export const name = "image build";
export const synopsis = "Build a Debian system image with debootstrap and send it to the hosts";
export const help = `Usage: corral image build debian --name NAME [--release bookworm] [--packages P,Q] [--backend lxc|lxd|openvz]... [--host HOST]... [--json]

Builds a Debian root filesystem on this machine with debootstrap (--variant=minbase, from
Debian's own packages; no image registry) holding a real init (systemd-sysv) and the
--packages asked for, e.g. docker.io for a system container that runs Docker. Needs root and
debootstrap here. Builds are cached under ${DEFAULT_CACHE}/<hash of the inputs>, so building
the same release and packages again takes seconds. The image then goes through the controller
to every host with each --backend (default: lxc and lxd, where hosts have them; --backend
openvz makes it an OS template in each OpenVZ host's TEMPLATE/cache); containers use it with
\`corral ct create NAME --image NAME [--backend B]\`.`;
export const examples = [
  "corral image build debian --name debian",
  "corral image build debian --packages docker.io --name debian-docker --backend lxc",
  "corral image build debian --name debian --backend openvz",
];
export const flags: FlagSpec[] = [
  { name: "name", kind: "string", value: "NAME", help: "image name, such as debian-docker (required)" },
  { name: "release", kind: "string", value: "CODENAME", help: "Debian release (default bookworm)" },
  { name: "packages", kind: "list", value: "P,Q", help: "Debian packages to add, comma-separated or repeated" },
  { name: "backend", kind: "list", value: "NAME", help: "backends to send it to (default lxc and lxd; openvz too when asked)", complete: BACKEND_NAMES },
  { name: "host", kind: "list", value: "HOST", help: "send it to this host only", complete: "hosts" },
  { name: "mirror", kind: "string", value: "URL", help: `Debian mirror (default ${DEFAULT_MIRROR})` },
];

const SYSTEM_BACKENDS: readonly BackendName[] = ["lxc", "lxd"];

export async function run(ctx: Context): Promise<void> {
  const distro = ctx.args.positional(0, "distribution (corral image build debian --name NAME)");
  ctx.args.noMorePositionals(1);
  if (distro !== "debian") throw new UsageError(`only debian images are built here (debootstrap), not "${distro}"`);
  const imageName = ctx.args.string("name");
  if (!imageName) throw new UsageError("missing --name NAME for the image");
  const packages = ctx.args.list("packages").flatMap((p) => p.split(",")).map((p) => p.trim()).filter(Boolean);
  const asked = ctx.args.list("backend").map((b) => asUsage(() => parseBackend(b)));
  for (const b of asked) if (b === "docker") throw new UsageError("image build makes system images for lxc, lxd and openvz, not docker (corral image import takes a rootfs tarball for docker)");
  const hosts = ctx.args.list("host");
  const built = await ctx.connection().waitFor(
    "debootstrap",
    buildDebianImage({ release: ctx.args.string("release") ?? "bookworm", packages, mirror: ctx.args.string("mirror") ?? DEFAULT_MIRROR }),
  );
  // Default: the system backends some host of the cluster has (asking for one no host has is an error).
  let backends = asked;
  if (!backends.length) {
    const all = await ctx.connection().call((c) => c.listHosts());
    const have = new Set(all.filter((h) => h.state !== "down").flatMap(availableBackends));
    backends = SYSTEM_BACKENDS.filter((b) => have.has(b));
    if (!backends.length) throw new UsageError("no host of the cluster has lxc or lxd available");
  }
  // Each backend's copy goes at the same time: the controller keeps one file per SHA-256, and a host's
  // LXC store and LXD daemon unpack and hash in parallel what one after the other took twice as long.
  const images: ImageInfo[] = (await Promise.all(backends.map((backend) => uploadImage(ctx, built.file, { name: imageName, backend, sizeBytes: 0, hosts })))).flat();
  const summary = { name: imageName, sha256: built.sha256, sizeBytes: built.sizeBytes, cached: built.cached, buildSeconds: built.buildSeconds, file: built.file, images };
  if (ctx.json) return ctx.printJson(summary);
  ctx.print(`${imageName}: ${built.cached ? "from the cache" : `built in ${built.buildSeconds.toFixed(1)} s`}, sha256 ${built.sha256}`);
  for (const i of images) ctx.print(importedLine(i));
}
