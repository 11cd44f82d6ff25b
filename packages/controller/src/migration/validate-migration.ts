// Checks made before a migration is recorded: any failure here changes nothing.
import {
  type BackendName,
  CorralError,
  failedPrecondition,
  notFound,
  unavailable,
  type Container,
  type Host,
} from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer } from "../store/containers.js";
import { getHost, listHosts } from "../store/hosts.js";
import { checkHost } from "../scheduler/index.js";
import { portClash } from "../network/ports.js";

export interface ValidMigration {
  container: Container;
  source: Host;
  target: Host;
  /** The backend the container will have on the target: its own, or another when the move converts. */
  targetBackend: BackendName;
}

/** The conversions a move can make (ct migrate --backend), as the anchors do them by hand. */
const CONVERSIONS: Partial<Record<BackendName, readonly BackendName[]>> = { openvz: ["lxc", "lxd"], lxc: ["lxd"] };

export function validateMigration(ctx: ControllerContext, name: string, targetName: string, wantedBackend?: BackendName, precopy = false): ValidMigration {
  const db = ctx.store.db;
  const container = getContainer(db, name);
  if (!container) throw notFound(`container "${name}" not found`);
  ctx.locks.assertFree(name);
  if (container.state !== "running" && container.state !== "stopped") {
    throw failedPrecondition(`container "${name}" is ${container.state}; only a running or stopped container can migrate`);
  }
  const target = getHost(db, targetName);
  if (!target) {
    const known = listHosts(db).map((h) => h.name).join(", ") || "none";
    throw notFound(`host "${targetName}" not found (known: ${known})`);
  }
  if (target.name === container.host) throw failedPrecondition(`container "${name}" is already on ${target.name}`);
  const targetBackend = wantedBackend ?? container.backend;
  if (targetBackend !== container.backend && !CONVERSIONS[container.backend]?.includes(targetBackend)) {
    const known = Object.entries(CONVERSIONS).flatMap(([from, tos]) => tos.map((to) => `${from}→${to}`)).join(", ");
    throw failedPrecondition(`cannot convert ${name} from ${container.backend} to ${targetBackend}: a move converts ${known}`);
  }
  const source = getHost(db, container.host);
  if (!source) throw notFound(`host "${container.host}" of container "${name}" not found`);
  if (source.state === "down") throw unavailable(`host ${source.name} is down`);
  const receiving = target.backends.find((b) => b.name === targetBackend);
  if (receiving?.available && !receiving.capabilities.includes("migrate")) {
    throw failedPrecondition(`cannot migrate ${name} to ${target.name}: its ${targetBackend} backend cannot receive a migration`);
  }
  if (precopy) {
    // Both ends must speak the pre-copy passes (agent backends with PreCopy, LXC today); a converting
    // move has no tree in common to sync.
    if (targetBackend !== container.backend) throw failedPrecondition(`--precopy cannot convert ${name} to ${targetBackend}: a pre-copy syncs the same tree on both ends`);
    const lacking = [source, target].find((h) => !h.backends.find((b) => b.name === targetBackend)?.capabilities.includes("precopy"));
    if (lacking) throw failedPrecondition(`cannot pre-copy ${name}: the ${targetBackend} backend on ${lacking.name} has no pre-copy (only LXC has, with rsync installed; Docker and LXD move cold)`);
  }
  const clash = portClash(db, container.spec, target.name);
  if (clash) throw failedPrecondition(`cannot migrate ${name} to ${target.name}: ${clash}`);
  const ask = { name, backend: targetBackend, ...container.spec.limits };
  const rejection = checkHost(target, ask);
  if (rejection) throw new CorralError(rejection.code, `cannot migrate ${name} to ${target.name}: ${rejection.reason}`);
  return { container, source, target, targetBackend };
}
