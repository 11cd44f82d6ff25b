// Feasibility checks. Each names why it rejects a host, in words an operator can act on.
import { formatBytes } from "@corral/wire";
import type { HostSnapshot, PlacementAsk, Rejection } from "./types.js";

export type Filter = (host: HostSnapshot, ask: PlacementAsk) => Rejection | undefined;

export const hostStateFilter: Filter = (host) => {
  if (host.state === "ready") return undefined;
  return { code: host.state === "down" ? "unavailable" : "failed_precondition", reason: `host is ${host.state}` };
};

export const backendFilter: Filter = (host, ask) => {
  const ok = host.backends.some((b) => b.name === ask.backend && b.available);
  return ok ? undefined : { code: "failed_precondition", reason: `backend ${ask.backend} not available` };
};

export const memoryFilter: Filter = (host, ask) => {
  if (ask.memoryBytes <= 0) return undefined;
  const free = Math.max(0, host.memoryBytes - host.reservedMemoryBytes);
  if (ask.memoryBytes <= free) return undefined;
  return {
    code: "resource_exhausted",
    reason: `not enough memory: ${formatBytes(free)} free of ${formatBytes(host.memoryBytes)}, ${formatBytes(ask.memoryBytes)} requested`,
  };
};

// CPUs cap a container (cgroup quota) and are shared, so they are checked per container, not summed;
// the reserved sum only steers the scorers.
export const cpuFilter: Filter = (host, ask) => {
  if (ask.cpus <= host.cpus) return undefined;
  return { code: "resource_exhausted", reason: `needs ${ask.cpus} cpus, host has ${host.cpus}` };
};

export const FILTERS: readonly Filter[] = [hostStateFilter, backendFilter, memoryFilter, cpuFilter];

export function checkHost(host: HostSnapshot, ask: PlacementAsk): Rejection | undefined {
  for (const f of FILTERS) {
    const r = f(host, ask);
    if (r) return r;
  }
  return undefined;
}
