import { formatBytes, type ImageInfo } from "@corral/wire";
import type { Context } from "../command.js";
import { formatTable } from "../table.js";

export const name = "image list";
export const synopsis = "List the images the hosts hold: backends, size, SHA-256 and hosts";
export const help = `Usage: corral image list [--json]

One line per image name: the backends that hold it, its size, its SHA-256 (LXC and LXD images;
Docker's image id otherwise) and the hosts that hold it, as the agents of the hosts that are up
report them. --json gives one entry per image with every host's copy.`;
export const examples = ["corral image list", "corral image list --json | jq -r '.[].name'"];
export const aliases = ["ls"];

export interface ImageEntry {
  name: string;
  backends: string[];
  sizeBytes: number;
  sha256: string[];
  hosts: string[];
  copies: ImageInfo[];
}

/** Groups the per-host, per-backend copies by image name. */
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
      hosts: uniq(copies.map((c) => c.host)),
      copies,
    }));
}

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const entries = imageEntries(await ctx.connection().call((c) => c.listImages()));
  if (ctx.json) return ctx.printJson(entries);
  const rows = entries.map((e) => [e.name, e.backends.join(","), formatBytes(e.sizeBytes), e.sha256.map((s) => s.slice(0, 12)).join(","), e.hosts.join(",")]);
  for (const l of formatTable(["NAME", "BACKENDS", "SIZE", "SHA256", "HOSTS"], rows, { align: ["left", "left", "right", "left", "left"] })) ctx.print(l);
}
