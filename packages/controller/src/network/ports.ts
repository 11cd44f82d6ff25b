// Published ports as the controller records them: a container's --port on a host whose other
// containers already publish it is refused before anything moves (the target agent checks again,
// including ports something outside Corral listens on).
import type { ContainerSpec } from "@corral/wire";
import type { Db } from "../store/store.js";
import { listContainers } from "../store/containers.js";
import { portKey } from "../store/cluster-state.js";

/** "port 80/tcp is already published on host2 by container "web"", or undefined when all are free. */
export function portClash(db: Db, spec: ContainerSpec, host: string): string | undefined {
  if (spec.ports.length === 0) return undefined;
  for (const other of listContainers(db, host)) {
    if (other.name === spec.name) continue;
    for (const p of spec.ports) {
      if (other.spec.ports.some((q) => q.hostPort === p.hostPort && q.protocol === p.protocol)) {
        return `port ${portKey(p)} is already published on ${host} by container "${other.name}"`;
      }
    }
  }
  return undefined;
}
