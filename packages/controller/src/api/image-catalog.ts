// The cluster's images: what every host that is up holds, per backend (asked of the agents, so the
// list is what is really there), and their removal everywhere, refused while a container uses one.
import { CorralError, failedPrecondition, messageOf, notFound, type ImageInfo } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { listHosts } from "../store/hosts.js";
import { listContainers } from "../store/containers.js";
import { forgetImage } from "./image-store.js";

export async function listImages(ctx: ControllerContext): Promise<ImageInfo[]> {
  const hosts = listHosts(ctx.store.db).filter((h) => h.state !== "down");
  const lists = await Promise.all(
    hosts.map((h) =>
      ctx.agents
        .of(h)
        .listImages()
        .catch((err: unknown) => {
          ctx.log.warn({ host: h.name, err: messageOf(err) }, "cannot list images");
          return [] as ImageInfo[];
        }),
    ),
  );
  return lists.flat().sort((a, b) => a.name.localeCompare(b.name) || a.host.localeCompare(b.host) || a.backend.localeCompare(b.backend));
}

export async function removeImage(ctx: ControllerContext, name: string): Promise<ImageInfo[]> {
  const users = listContainers(ctx.store.db).filter((c) => c.spec.image === name);
  if (users.length > 0) {
    throw failedPrecondition(`image "${name}" is used by ${users.map((c) => `${c.name} (${c.host || "?"})`).join(", ")}: remove those containers first`);
  }
  const held = (await listImages(ctx)).filter((i) => i.name === name);
  // The controller's own copy goes too, so no host gets it on first use any more.
  const kept = await forgetImage(ctx, name);
  if (held.length === 0 && kept.length === 0) throw notFound(`image "${name}" is on no host that is up`);
  const hosts = new Map(listHosts(ctx.store.db).map((h) => [h.name, h]));
  const results = await Promise.allSettled(
    held.map(async (i) => {
      const h = hosts.get(i.host);
      if (!h) throw notFound(`host ${i.host} vanished`);
      await ctx.agents.of(h).removeImage(i.name, i.backend);
    }),
  );
  const failed = results.flatMap((r, k) => (r.status === "rejected" ? [`${held[k]?.host}/${held[k]?.backend}: ${messageOf(r.reason)}`] : []));
  if (failed.length) throw new CorralError("internal", `removing image "${name}" failed on ${failed.join("; ")}`);
  return held;
}
