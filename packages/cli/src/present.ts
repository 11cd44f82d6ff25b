// How domain objects look to people (table cells, one-line summaries) and to scripts (--json).
import { formatBytes, tokenState, type BackendInfo, type Container, type ConversionPlan, type Host, type Migration, type PlacementVerdict, type TokenInfo, type TokenState } from "@corral/wire";
import { formatTable } from "./table.js";

/** Hosts in JSON: `backends` lists the usable backend names; the probe details stay in `backendDetails`. */
export interface HostJson extends Omit<Host, "backends"> {
  backends: string[];
  backendDetails: BackendInfo[];
}

export const hostJson = (h: Host): HostJson => ({
  ...h,
  backends: availableBackends(h),
  backendDetails: h.backends,
});

/** Containers in JSON: the domain object, with `usage: null` rather than a missing key, and its addresses. */
export const containerJson = (c: Container): Omit<Container, "usage"> & { usage: Container["usage"] | null; ipv4: string[] } => ({
  ...c,
  usage: c.usage ?? null,
  ipv4: ipv4Of(c),
});

/** The container's addresses on the cluster network, without prefix lengths (as `lxc list` shows them). */
export const ipv4Of = (c: Container): string[] => (c.spec.ipv4 ? [c.spec.ipv4.split("/")[0] ?? c.spec.ipv4] : []);

export const availableBackends = (h: Host): string[] => h.backends.filter((b) => b.available).map((b) => b.name);

export const hostRow = (h: Host): string[] => [
  h.name,
  h.address,
  h.state,
  availableBackends(h).join(",") || "-",
  String(h.cpus),
  formatBytes(h.memoryBytes),
  `${formatBytes(h.reservedMemoryBytes)}, ${trimNumber(h.reservedCpus)} cpu`,
  String(h.containers),
  labelsText(h.labels, "-"),
];
export const HOST_HEADERS = ["NAME", "ADDRESS", "STATE", "BACKENDS", "CPUS", "MEMORY", "RESERVED", "CONTAINERS", "LABELS"];

/** `disk=ssd zone=eu`, sorted by key; `none` when there are none. */
export const labelsText = (labels: Record<string, string>, none = "no labels"): string =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") || none;

/** `unknown (42s)`: a down host's container, with the age of the last report about it. */
export function containerStateCell(c: Container, now = Date.now()): string {
  if (c.state !== "unknown" || c.lastReportUnixMs <= 0) return c.state;
  return `unknown (${formatAge(now - c.lastReportUnixMs)})`;
}

/** 42 s → "42s", 125 s → "2m5s", 2 h → "2h0m". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export const containerRow = (c: Container): string[] => {
  const live = c.usage && c.state === "running";
  return [
    c.name,
    c.host || "-",
    c.backend,
    containerStateCell(c),
    ipv4Of(c).join(",") || "-",
    live ? c.usage!.cpuPercent.toFixed(1) : "-",
    live ? formatBytes(c.usage!.memoryBytes) : "-",
    live ? String(c.usage!.pids) : "-",
  ];
};
export const CONTAINER_HEADERS = ["NAME", "HOST", "BACKEND", "STATE", "IPV4", "CPU%", "MEMORY", "PIDS"];

export const migrationRow = (m: Migration): string[] => [
  m.id,
  m.container,
  m.sourceHost,
  m.targetHost,
  m.phase,
  formatBytes(m.bytes),
  m.finishedUnixMs && m.startedUnixMs ? formatSeconds(m.finishedUnixMs - m.startedUnixMs) : "-",
  downtimeCell(m),
  m.startedUnixMs ? isoTime(m.startedUnixMs) : "-",
  oneLine(m.error) || "-",
];
export const MIGRATION_HEADERS = ["ID", "CONTAINER", "SOURCE", "TARGET", "PHASE", "BYTES", "TOOK", "DOWNTIME", "STARTED", "ERROR"];

/** A stopped container moved stopped: no downtime, said so rather than "-". */
export function downtimeCell(m: Migration): string {
  if (m.downtimeMs) return formatSeconds(m.downtimeMs);
  return m.phase === "done" && !m.wasRunning ? "none" : "-";
}

/** Colour for a host or container state word. */
export function stateColour(state: string): string {
  if (state === "running" || state === "ready" || state === "done" || state === "active") return "green";
  if (state === "error" || state === "down" || state === "rolled_back" || state === "revoked" || state === "lost") return "red";
  if (state === "stopped" || state === "expired") return "dim";
  return "yellow";
}

/** `1.5 s`, `2 min 5 s`. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export const trimNumber = (n: number): string => String(Math.round(n * 100) / 100);

export const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, " ").trim();

/** "c1 migrated host1 → host2: 2.1 MiB in 2.4 s (downtime 2.3 s)". */
export function migrationSummary(m: Migration, fallbackElapsedMs: number): string {
  const took = m.finishedUnixMs && m.startedUnixMs ? m.finishedUnixMs - m.startedUnixMs : fallbackElapsedMs;
  const bytes = m.bytes || m.totalBytes;
  const downtime = m.wasRunning ? `downtime ${formatSeconds(m.downtimeMs)}` : "stopped: it stays stopped, no downtime";
  const kept = m.sourceKept ? `; the stopped source stays on ${m.sourceHost} until corral migration finish ${m.id}` : "";
  return `${m.container} migrated ${m.sourceHost} → ${m.targetHost}: ${formatBytes(bytes)} in ${formatSeconds(took)} (${downtime})${kept}`;
}

/**
 * What a converting move (ct migrate --backend) carries over and what it leaves behind, one
 * setting a line: for ct migrate's dry run and summary, and for migration show.
 */
export function conversionLines(c: ConversionPlan): string[] {
  return [
    `converts:    ${c.sourceBackend} → ${c.targetBackend}`,
    ...c.carried.map((i) => `  carried:   ${i.key} → ${i.detail}`),
    ...c.dropped.map((i) => `  not carried: ${i.key}: ${i.detail}`),
  ];
}

/** "2026-11-29T04:00:00Z": UTC to the second. */
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** Tokens in JSON: times as ISO strings, null when there is none. The secret is never listed. */
export interface TokenJson {
  id: string;
  role: TokenInfo["role"];
  state: TokenState;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

const isoOrNull = (ms: number): string | null => (ms ? isoTime(ms) : null);

export const tokenJson = (t: TokenInfo): TokenJson => ({
  id: t.id,
  role: t.role,
  state: tokenState(t),
  createdAt: isoTime(t.createdUnixMs),
  expiresAt: isoOrNull(t.expiresUnixMs),
  revokedAt: isoOrNull(t.revokedUnixMs),
});

export const tokenRow = (t: TokenInfo): string[] => {
  const j = tokenJson(t);
  return [j.id, j.role, j.state, j.createdAt, j.expiresAt ?? "never", j.revokedAt ?? "-"];
};
export const TOKEN_HEADERS = ["ID", "ROLE", "STATE", "CREATED", "EXPIRES", "REVOKED"];
/** The scheduler's verdict per host, as `--explain` and the "nothing fits" error print it. */
export function verdictLines(e: { host: string | null; verdicts: readonly PlacementVerdict[] }): string[] {
  const rows = e.verdicts.map((v) => [
    v.host,
    v.host === e.host ? "chosen" : v.filter === null ? "feasible" : "rejected",
    v.filter ?? "",
    v.filter === null && v.score !== null ? `score ${v.score.toFixed(3)}` : v.reason,
  ]);
  return formatTable(["HOST", "VERDICT", "FILTER", "REASON / SCORE"], rows);
}

export const explanationJson = (e: { host: string | null; verdicts: readonly PlacementVerdict[] }) => ({
  host: e.host,
  verdicts: e.verdicts.map((v) => ({ host: v.host, filter: v.filter, reason: v.reason, score: v.score })),
});
