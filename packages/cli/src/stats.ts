// `corral ct stats`: the columns and JSON keys of `docker stats`, for the whole cluster, from the
// usage the agents last reported to the controller.
import { formatBytes, type Container } from "@corral/wire";

export const STATS_HEADERS = ["CONTAINER", "HOST", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];
export const STATS_ALIGN = ["left", "left", "right", "right", "right", "right", "right", "right"] as const;

export interface StatsJson {
  name: string;
  host: string;
  state: string;
  cpuPercent: number;
  memoryBytes: number;
  /** The runtime's limit when it reports one, else the spec's; 0 = none. */
  memoryLimitBytes: number;
  memoryPercent: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

/** Stats of a container; a container that is not running (or not yet sampled) reads as zeros. */
export function statsOf(c: Container): StatsJson {
  const u = c.state === "running" ? c.usage : undefined;
  const limit = (u?.memoryLimitBytes || c.spec.limits.memoryBytes) ?? 0;
  const mem = u?.memoryBytes ?? 0;
  return {
    name: c.name,
    host: c.host,
    state: c.state,
    cpuPercent: round2(u?.cpuPercent ?? 0),
    memoryBytes: mem,
    memoryLimitBytes: limit,
    memoryPercent: limit > 0 ? round2((mem / limit) * 100) : 0,
    netRxBytes: u?.netRxBytes ?? 0,
    netTxBytes: u?.netTxBytes ?? 0,
    blockReadBytes: u?.blockReadBytes ?? 0,
    blockWriteBytes: u?.blockWriteBytes ?? 0,
    pids: u?.pids ?? 0,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** A row; "--" where there is nothing to show, as docker shows a stopped container. */
export function statsRow(s: StatsJson): string[] {
  if (s.state !== "running") return [s.name, s.host || "-", "--", "-- / --", "--", "-- / --", "-- / --", "--"];
  return [
    s.name,
    s.host || "-",
    `${s.cpuPercent.toFixed(2)}%`,
    `${formatBytes(s.memoryBytes)} / ${s.memoryLimitBytes > 0 ? formatBytes(s.memoryLimitBytes) : "unlimited"}`,
    s.memoryLimitBytes > 0 ? `${s.memoryPercent.toFixed(2)}%` : "--",
    `${formatBytes(s.netRxBytes)} / ${formatBytes(s.netTxBytes)}`,
    `${formatBytes(s.blockReadBytes)} / ${formatBytes(s.blockWriteBytes)}`,
    String(s.pids),
  ];
}
