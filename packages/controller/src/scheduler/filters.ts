// Feasibility checks, one per named filter. Each says why it rejects a host, in words an operator can act on.
import { formatBytes } from "@corral/wire";
import type { FilterName, HostSnapshot, PlacementAsk, Rejection } from "./types.js";

export type Filter = (host: HostSnapshot, ask: PlacementAsk) => Rejection | undefined;

const reject = (filter: FilterName, code: Rejection["code"], reason: string): Rejection => ({ filter, code, reason });

export const stateFilter: Filter = (host) => {
  if (host.state === "ready") return undefined;
  return reject("state", host.state === "down" ? "unavailable" : "failed_precondition", `host is ${host.state}`);
};

export const backendFilter: Filter = (host, ask) => {
  const ok = host.backends.some((b) => b.name === ask.backend && b.available);
  return ok ? undefined : reject("backend", "failed_precondition", `backend ${ask.backend} not available`);
};

export const memoryFilter: Filter = (host, ask) => {
  if (ask.memoryBytes <= 0) return undefined;
  const capacity = Math.floor(host.memoryBytes * (host.overcommit ?? 1));
  const free = Math.max(0, capacity - host.reservedMemoryBytes);
  if (ask.memoryBytes <= free) return undefined;
  return reject(
    "memory",
    "resource_exhausted",
    `not enough memory: ${formatBytes(free)} free of ${formatBytes(capacity)}, ${formatBytes(ask.memoryBytes)} requested`,
  );
};

// A container's CPUs cap it (cgroup quota): no single container may ask for more than the host has,
// and the placed sum stays within capacity × overcommit.
export const cpuFilter: Filter = (host, ask) => {
  if (ask.cpus <= 0) return undefined;
  if (ask.cpus > host.cpus) return reject("cpu", "resource_exhausted", `needs ${ask.cpus} cpus, host has ${host.cpus}`);
  const capacity = host.cpus * (host.overcommit ?? 1);
  const free = Math.max(0, capacity - host.reservedCpus);
  if (ask.cpus <= free + 1e-9) return undefined;
  return reject("cpu", "resource_exhausted", `not enough cpus: ${round(free)} free of ${round(capacity)}, ${ask.cpus} requested`);
};

// Disk limits are reserved as memory is (placed disk within size × overcommit); and a limit must
// also fit in what the host reports free now, since a quota promises room the disk must have.
export const diskFilter: Filter = (host, ask) => {
  const want = ask.diskBytes ?? 0;
  if (want <= 0) return undefined;
  if (host.diskBytes) {
    const capacity = Math.floor(host.diskBytes * (host.overcommit ?? 1));
    const free = Math.max(0, capacity - (host.reservedDiskBytes ?? 0));
    if (want > free) {
      return reject(
        "disk",
        "resource_exhausted",
        `not enough disk: ${formatBytes(free)} unreserved of ${formatBytes(capacity)}, ${formatBytes(want)} requested`,
      );
    }
  }
  if (host.diskFreeBytes === undefined || want <= host.diskFreeBytes) return undefined;
  return reject(
    "disk",
    "resource_exhausted",
    `not enough disk: the host reports ${formatBytes(host.diskFreeBytes)} free, ${formatBytes(want)} requested`,
  );
};

export const constraintFilter: Filter = (host, ask) => {
  for (const c of ask.constraints ?? []) {
    const has = host.labels?.[c.key];
    if (c.op === "=" && has !== c.value) {
      const why = has === undefined ? `host has no label ${c.key}` : `host has ${c.key}=${has}`;
      return reject("constraint", "failed_precondition", `constraint ${c.key}=${c.value} not met: ${why}`);
    }
    if (c.op === "!=" && has === c.value) {
      return reject("constraint", "failed_precondition", `constraint ${c.key}!=${c.value} not met: host has ${c.key}=${has}`);
    }
  }
  return undefined;
};

export const antiAffinityFilter: Filter = (host, ask) => {
  if (!ask.antiAffinity) return undefined;
  const n = host.groups?.get(ask.antiAffinity) ?? 0;
  if (n === 0) return undefined;
  return reject("anti-affinity", "failed_precondition", `already runs a member of anti-affinity group ${ask.antiAffinity}`);
};

/** The container (other than the asking one) that publishes `port` on the host, if any. */
function portHolder(host: HostSnapshot, ask: PlacementAsk, port: string): string | undefined {
  for (const name of host.ports?.get(port) ?? []) if (name !== ask.name) return name;
  return undefined;
}

export const portFilter: Filter = (host, ask) => {
  for (const p of ask.ports ?? []) {
    const by = portHolder(host, ask, p);
    if (by !== undefined) return reject("port", "failed_precondition", `port ${p} is already published on ${host.name} by container "${by}"`);
  }
  return undefined;
};

/** In order: the cheap, most selective checks first. */
export const FILTERS: readonly Filter[] = [
  stateFilter,
  backendFilter,
  constraintFilter,
  antiAffinityFilter,
  portFilter,
  memoryFilter,
  cpuFilter,
  diskFilter,
];

/** The memory a host can still take (capacity × overcommit, less what is reserved): a larger ask does not fit. */
export function memoryRoom(host: HostSnapshot): number {
  return Math.max(0, Math.floor(host.memoryBytes * (host.overcommit ?? 1)) - host.reservedMemoryBytes);
}

/** The CPUs a host can still take (never more than it has): a larger ask does not fit. */
export function cpuRoom(host: HostSnapshot): number {
  return Math.min(host.cpus, Math.max(0, host.cpus * (host.overcommit ?? 1) - host.reservedCpus) + 1e-9);
}

/**
 * The same verdict as checkHost, as a yes or no, without building a reason: placement calls it for
 * every host it visits (tens per placement, a million placements a minute), and asks checkHost for
 * the words only when it explains. A property test holds the two equal.
 */
export function fits(host: HostSnapshot, ask: PlacementAsk): boolean {
  // Resources first: on a busy cluster most visited hosts are full, and these are plain numbers.
  if (ask.memoryBytes > 0 && ask.memoryBytes > memoryRoom(host)) return false;
  if (ask.cpus > 0 && ask.cpus > cpuRoom(host)) return false;
  const ratio = host.overcommit ?? 1;
  if (host.state !== "ready") return false;
  let backend = false;
  for (const b of host.backends) if (b.name === ask.backend && b.available) backend = true;
  if (!backend) return false;
  if (ask.constraints) {
    for (const c of ask.constraints) {
      const has = host.labels?.[c.key];
      if (c.op === "=" ? has !== c.value : has === c.value) return false;
    }
  }
  if (ask.antiAffinity && (host.groups?.get(ask.antiAffinity) ?? 0) > 0) return false;
  if (ask.ports) for (const p of ask.ports) if (portHolder(host, ask, p) !== undefined) return false;
  const disk = ask.diskBytes ?? 0;
  if (disk > 0) {
    if (host.diskBytes && disk > Math.max(0, Math.floor(host.diskBytes * ratio) - (host.reservedDiskBytes ?? 0))) return false;
    if (host.diskFreeBytes !== undefined && disk > host.diskFreeBytes) return false;
  }
  return true;
}

export function checkHost(host: HostSnapshot, ask: PlacementAsk): Rejection | undefined {
  for (const f of FILTERS) {
    const r = f(host, ask);
    if (r) return r;
  }
  return undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
