// The cluster's images: what every host that is up holds, per backend (asked of the agents, so the
// list is what is really there), beside the copies the controller keeps for hosts to fetch on first
// use (host "" in the list), and their removal everywhere, refused while a container uses one.
import { CorralError, failedPrecondition, messageOf, notFound, type ImageInfo } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { listHosts } from "../store/hosts.js";
import { listContainers } from "../store/containers.js";
import { listStoredImages } from "../store/images.js";
import { forgetImage } from "./image-store.js";

/** The host a listed copy has when the controller's image store holds it (no host holds it yet, or the hosts that fetched it are listed beside). */
export const CONTROLLER_COPY = "";

/**
 * Every copy: each up host's, then the controller's own (host ""), so an image built or imported
 * for hosts that are down, or held only by the controller, is still listed with its SHA-256.
 */
export async function listImages(ctx: ControllerContext): Promise<ImageInfo[]> {
  const kept = listStoredImages(ctx.store.db).map((i): ImageInfo => ({ name: i.name, backend: i.backend, host: CONTROLLER_COPY, sizeBytes: i.sizeBytes, id: `sha256:${i.sha256}` }));
  return [...(await hostImages(ctx)), ...kept].sort((a, b) => a.name.localeCompare(b.name) || a.host.localeCompare(b.host) || a.backend.localeCompare(b.backend));
}

async function hostImages(ctx: ControllerContext): Promise<ImageInfo[]> {
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
  return lists.flat();
}

export async function removeImage(ctx: ControllerContext, name: string): Promise<ImageInfo[]> {
  const users = listContainers(ctx.store.db).filter((c) => c.spec.image === name);
  if (users.length > 0) {
    throw failedPrecondition(`image "${name}" is used by ${users.map((c) => `${c.name} (${c.host || "?"})`).join(", ")}: remove those containers first`);
  }
  const held = (await hostImages(ctx)).filter((i) => i.name === name);
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
