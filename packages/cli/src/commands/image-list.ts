import { formatBytes, type ImageInfo } from "@corral/wire";
import type { Context } from "../command.js";
import { formatTable } from "../table.js";

export const name = "image list";
export const synopsis = "List the images: backends, size, SHA-256, the hosts that hold them and the controller's copy";
export const help = `Usage: corral image list [--json]

One line per image name: the backends it is for, its size, its SHA-256 (LXC, LXD and OpenVZ
images; Docker's image id otherwise), the hosts that hold it, as the agents of the hosts that are
up report them (a host that fetched it on first use is among them), and whether the controller
keeps it (KEPT yes: a host that lacks it gets it on first use). An image the controller keeps and
no host holds yet is listed with no hosts. --json gives one entry per image with every host's copy
(copies) and the controller's (kept).`;
export const examples = ["corral image list", "corral image list --json | jq -r '.[].name'"];
export const aliases = ["ls"];

export interface ImageEntry {
  name: string;
  backends: string[];
  sizeBytes: number;
  sha256: string[];
  hosts: string[];
  /** The hosts' copies. */
  copies: ImageInfo[];
  /** The controller's copies (one per backend), which hosts fetch on first use. */
  kept: { backend: string; sizeBytes: number; sha256: string }[];
}

/** The controller's copies come in the list with no host (controller/api/image-catalog.ts). */
const isKept = (i: ImageInfo) => i.host === "";

/** Groups the per-host, per-backend copies (and the controller's) by image name. */
export function imageEntries(images: ImageInfo[]): ImageEntry[] {
  const byName = new Map<string, ImageInfo[]>();
  for (const i of images) byName.set(i.name, [...(byName.get(i.name) ?? []), i]);
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, copies]) => ({
      name: n,
      backends: uniq(copies.map((c) => c.backend)),
      sizeBytes: Math.max(...copies.map((c) => c.sizeBytes)),
      sha256: uniq(copies.map((c) => c.id.replace(/^sha256:/, ""))),
      hosts: uniq(copies.filter((c) => !isKept(c)).map((c) => c.host)),
      copies: copies.filter((c) => !isKept(c)),
      kept: copies.filter(isKept).map((c) => ({ backend: c.backend, sizeBytes: c.sizeBytes, sha256: c.id.replace(/^sha256:/, "") })),
    }));
}

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const entries = imageEntries(await ctx.connection().call((c) => c.listImages()));
  if (ctx.json) return ctx.printJson(entries);
  const rows = entries.map((e) => [
    e.name,
    e.backends.join(","),
    formatBytes(e.sizeBytes),
    e.sha256.map((s) => s.slice(0, 12)).join(","),
    e.hosts.join(",") || "-",
    e.kept.length ? "yes" : "no",
  ]);
  for (const l of formatTable(["NAME", "BACKENDS", "SIZE", "SHA256", "HOSTS", "KEPT"], rows, { align: ["left", "left", "right", "left", "left", "left"] })) ctx.print(l);
}
