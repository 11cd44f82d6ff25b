// `ct list` as the controller can vouch for it: a container on a down host is `unknown` (its
// lastReportUnixMs says how old the last word is), never a live-looking `running`; drift lists
// what hosts run that the controller does not manage there.
import type { Container, ContainerList } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { listContainers } from "../store/containers.js";
import { listDrift } from "../store/drift.js";
import { listHosts } from "../store/hosts.js";

const VOUCHED_BY_HOST = new Set(["running", "stopped", "error"]);

export function listContainerView(ctx: ControllerContext, host: string): ContainerList {
  const db = ctx.store.db;
  const down = new Set(listHosts(db).filter((h) => h.state === "down").map((h) => h.name));
  const containers = listContainers(db, host).map((c): Container =>
    down.has(c.host) && VOUCHED_BY_HOST.has(c.state) ? { ...c, state: "unknown", usage: undefined } : c,
  );
  return { containers, drift: listDrift(db, host) };
}
