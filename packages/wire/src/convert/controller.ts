// Generated ⇄ domain conversion for the messages of controller.proto.
import type * as pb from "../gen/corral/controller/v1/controller.js";
import type * as tpb from "../gen/corral/v1/types.js";
import type * as d from "../domain/types.js";
import { LIMIT_KEYS, MIGRATION_PHASES } from "../domain/types.js";
import { parseBackend, parseCompression } from "../domain/validate.js";
import { parseRole, type TokenInfo } from "../domain/tokens.js";
import { invalidArgument } from "../domain/errors.js";
import type { CorralEvent } from "../domain/events.js";
import type { ExecMessage } from "./agent.js";
import {
  backendInfoFromProto,
  backendInfoToProto,
  conversionPlanFromProto,
  conversionPlanToProto,
  execInputFromProto,
  execInputToProto,
  execOptionsFromProto,
  execOptionsToProto,
  specFromProto,
  specToProto,
  usageFromProto,
  usageToProto,
} from "./types.js";

const HOST_STATES: readonly d.HostState[] = ["ready", "cordoned", "draining", "drained", "down"];
const CONTAINER_STATES: readonly d.ContainerState[] = ["creating", "running", "stopped", "migrating", "unknown", "error", "lost"];
const oneOf = <T extends string>(all: readonly T[], v: string, fallback: T): T =>
  (all as readonly string[]).includes(v) ? (v as T) : fallback;

/** A partial limits update: a limit absent on the wire stays absent (kept as it is), unlike 0 (unlimited). */
export const setRequestToProto = (name: string, p: d.LimitsPatch): pb.SetLimitsRequest => ({
  name,
  memoryBytes: p.memoryBytes,
  cpus: p.cpus,
  swapBytes: p.swapBytes,
  cpuShares: p.cpuShares,
  pidsMax: p.pidsMax,
  diskBytes: p.diskBytes,
});
export const limitsPatchFromProto = (r: pb.SetLimitsRequest): d.LimitsPatch => {
  const p: d.LimitsPatch = { memoryBytes: r.memoryBytes, cpus: r.cpus };
  // The later limits only when given, so a patch of the first two reads as it always did.
  for (const k of LIMIT_KEYS) if (r[k] !== undefined) p[k] = r[k];
  return p;
};

export const hostToProto = (h: d.Host): pb.Host => ({ ...h, backends: h.backends.map(backendInfoToProto) });
export const hostFromProto = (h: pb.Host): d.Host => ({
  ...h,
  state: oneOf(HOST_STATES, h.state, "down"),
  backends: h.backends.map(backendInfoFromProto),
});

export const containerToProto = (c: d.Container): pb.Container => ({
  ...c,
  spec: specToProto(c.spec),
  usage: c.usage ? usageToProto(c.usage) : undefined,
  lastExit: c.lastExit ? { ...c.lastExit } : undefined,
});
export function containerFromProto(c: pb.Container | undefined): d.Container {
  if (!c) throw new TypeError("container missing");
  const { lastExit, ...rest } = c;
  return {
    ...rest,
    backend: parseBackend(c.backend),
    state: oneOf(CONTAINER_STATES, c.state, "unknown"),
    desiredState: c.desiredState === "running" ? "running" : "stopped",
    spec: specFromProto(c.spec),
    usage: c.usage ? usageFromProto(c.usage) : undefined,
    ...(lastExit ? { lastExit: { ...lastExit } } : {}),
  };
}

export const migrateOptionsToProto = (name: string, targetHost: string, { targetBackend, ...o }: d.MigrateOptions): pb.MigrateContainerRequest => ({
  name,
  targetHost,
  ...o,
  precopy: o.precopy ?? false,
  targetBackend: targetBackend ?? "",
});
export const migrateOptionsFromProto = (r: pb.MigrateContainerRequest): d.MigrateOptions => ({
  compression: parseCompression(r.compression),
  stopTimeoutSeconds: r.stopTimeoutSeconds,
  detach: r.detach,
  dryRun: r.dryRun,
  keepSource: r.keepSource,
  bwlimitBytesPerSecond: r.bwlimitBytesPerSecond,
  ...(r.precopy ? { precopy: true } : {}),
  ...(r.targetBackend ? { targetBackend: parseBackend(r.targetBackend) } : {}),
});

export const migrationToProto = ({ conversion, ...m }: d.Migration): pb.Migration => ({
  ...m,
  conversion: conversion ? conversionPlanToProto(conversion) : undefined,
});
export const migrationFromProto = (m: pb.Migration | undefined): d.Migration => {
  if (!m) throw new TypeError("migration missing");
  const { conversion, ...rest } = m;
  return {
    ...rest,
    phase: oneOf(MIGRATION_PHASES, m.phase, "planned"),
    compression: parseCompression(m.compression),
    ...(conversion ? { conversion: conversionPlanFromProto(conversion) } : {}),
  };
};

export const migrationUpdateToProto = (u: d.MigrationUpdate): pb.MigrationUpdate => ({
  ...u,
  migration: migrationToProto(u.migration),
});
export function migrationUpdateFromProto(u: pb.MigrationUpdate | undefined): d.MigrationUpdate {
  if (!u) throw new TypeError("migration update missing");
  return { ...u, migration: migrationFromProto(u.migration) };
}

export const usageReportToProto = (r: d.UsageReport): pb.ReportUsageRequest => ({
  ...r,
  containers: r.containers.map(usageToProto),
});
export const usageReportFromProto = (r: pb.ReportUsageRequest): d.UsageReport => ({
  ...r,
  containers: r.containers.map(usageFromProto),
});

export const tokenInfoToProto = (t: TokenInfo): pb.TokenInfo => ({ ...t });
export const tokenInfoFromProto = (t: pb.TokenInfo | undefined): TokenInfo => {
  if (!t) throw new TypeError("token missing");
  return { ...t, role: parseRole(t.role) };
};

// A verdict's empty filter on the wire is null (feasible) in the domain; a score only means something then.
export const verdictToProto = (v: d.PlacementVerdict): tpb.PlacementVerdict => ({
  host: v.host,
  filter: v.filter ?? "",
  reason: v.reason,
  score: v.score ?? 0,
});
export const verdictFromProto = (v: tpb.PlacementVerdict): d.PlacementVerdict => ({
  host: v.host,
  filter: v.filter || null,
  reason: v.reason,
  score: v.filter ? null : v.score,
});

export const explanationToProto = (e: d.PlacementExplanation): pb.ExplainPlacementResponse => ({
  host: e.host ?? "",
  strategy: e.strategy,
  seed: e.seed,
  verdicts: e.verdicts.map(verdictToProto),
});
export const explanationFromProto = (e: pb.ExplainPlacementResponse): d.PlacementExplanation => ({
  host: e.host || null,
  strategy: e.strategy,
  seed: e.seed,
  verdicts: e.verdicts.map(verdictFromProto),
});

const MOVE_STATUSES: readonly d.HostMoveProgress["status"][] = ["planned", "moving", "moved", "failed", ""];
export const moveProgressToProto = (p: d.HostMoveProgress): pb.DrainHostResponse => ({
  ...p,
  migration: p.migration ? migrationToProto(p.migration) : undefined,
});
export const moveProgressFromProto = (p: pb.DrainHostResponse): d.HostMoveProgress => ({
  ...p,
  status: oneOf(MOVE_STATUSES, p.status, ""),
  migration: p.migration ? migrationFromProto(p.migration) : undefined,
  hostState: p.hostState ? oneOf(HOST_STATES, p.hostState, "down") : "",
});
export const restoreProgressToProto = (p: d.HostMoveProgress): pb.RestoreHostResponse => {
  const { targetHost, ...rest } = moveProgressToProto(p);
  return { ...rest, sourceHost: targetHost };
};
export const restoreProgressFromProto = (p: pb.RestoreHostResponse): d.HostMoveProgress => {
  const { sourceHost, ...rest } = p;
  return moveProgressFromProto({ ...rest, targetHost: sourceHost });
};

export const eventToProto = (e: CorralEvent): pb.Event => ({
  seq: e.seq,
  subject: e.subject,
  atUnixMs: e.atUnixMs,
  dataJson: JSON.stringify(e.data ?? null),
});
export const eventFromProto = (e: pb.Event | undefined): CorralEvent => {
  if (!e) throw new TypeError("event missing");
  let data: unknown;
  try {
    data = JSON.parse(e.dataJson || "null");
  } catch {
    data = e.dataJson; // a payload that is not JSON is shown as the text it is
  }
  return { seq: e.seq, subject: e.subject, atUnixMs: e.atUnixMs, data };
};

export const execStartToProto = (r: d.ExecStart): pb.ExecContainerRequest => ({
  kind: { $case: "start", value: { name: r.name, argv: [...r.argv], env: [...r.env], options: execOptionsToProto(r.options) } },
});
export const execInputMessageToProto = (i: d.ExecInput): pb.ExecContainerRequest => ({ kind: { $case: "input", value: execInputToProto(i) } });
export function execMessageFromProto(r: pb.ExecContainerRequest): ExecMessage<d.ExecStart> {
  switch (r.kind?.$case) {
    case "start": {
      const s = r.kind.value;
      return { kind: "header", header: { name: s.name, argv: s.argv, env: s.env, options: execOptionsFromProto(s.options) } };
    }
    case "input":
      return execInputFromProto(r.kind.value);
    default:
      throw invalidArgument("empty exec request message");
  }
}
export const networkViewToProto = (n: d.NetworkView): pb.ShowNetworkResponse => ({ ...n, addresses: n.addresses.map((a) => ({ ...a })) });
export const networkViewFromProto = (n: pb.ShowNetworkResponse): d.NetworkView => ({
  ...n,
  addresses: n.addresses.map((a) => ({ ...a, kind: a.kind === "host" ? "host" : "container" })),
});
