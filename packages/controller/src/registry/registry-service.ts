// RegistryService: agents register, then stream usage reports that double as heartbeats.
import { failedPrecondition, permissionDenied, receivedAt, validateName, type HostInfo, type RegistryHandlers, type UsageReport } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { hostView, touchHost, upsertHost } from "../store/hosts.js";
import { loopLag } from "./loop-lag.js";
import { getContainer, recordMentioned, recordUsage } from "../store/containers.js";
import { reservePlacement } from "../store/reservations.js";
import { cpuFilter, diskFilter, memoryFilter } from "../scheduler/index.js";
import { stateOf } from "../store/cluster-state.js";
import { replaceDrift } from "../store/drift.js";
import { SUBJECTS } from "../events/subjects.js";
import { dialAddress } from "./agent-address.js";
import { retryCleanups } from "../migration/cleanups.js";
import { joinHost } from "../pki/join-service.js";
import { pushNetwork } from "../network/network-service.js";

export function registryHandlers(ctx: ControllerContext): RegistryHandlers {
  return {
    register: async (info, peer, caller) => {
      speakingFor(caller, info.name, "register");
      return register(ctx, info, peer);
    },
    reportUsage: async (reports, caller) => {
      for await (const report of reports) {
        speakingFor(caller, report.host, "report usage");
        applyReport(ctx, report);
        const at = receivedAt(report);
        if (at !== undefined) ctx.metrics.reportApplied(at);
      }
    },
    join: (req) => joinHost(ctx, req),
  };
}

/** A host certificate speaks for its own host only (a fake host cannot register under another name). */
function speakingFor(caller: string, claimed: string, what: string): void {
  if (caller !== claimed) throw permissionDenied(`the certificate of host ${caller} cannot ${what} as host ${claimed}`);
}

async function register(ctx: ControllerContext, info: HostInfo, peer: string): Promise<number> {
  validateName("host", info.name);
  const address = dialAddress(info.address, peer);
  const host = { ...info, address };
  // Group commit: the registrations of one turn of the loop share a transaction (and its WAL write),
  // as a restarted controller's thousands of hosts arrive together.
  const { previous } = await ctx.store.grouped.run(() => {
    const r = upsertHost(ctx.store.db, host, Date.now());
    ctx.store.emit(SUBJECTS.hostRegistered, { host: info.name, address, agentVersion: info.agentVersion });
    if (r.previous === "down") ctx.store.emit(SUBJECTS.hostUp, { host: info.name });
    return r;
  });
  // A fresh channel: an agent that registers has (re)started, and the old channel may still hold
  // the failure it saw while the agent was away.
  ctx.agents.renew({ name: info.name, address });
  ctx.log.info({ host: info.name, address, previous: previous ?? "new" }, "host registered");
  // Its network first, so that the first create placed there finds its bridge; then every other
  // host, whose peer list may just have gained this one.
  await pushNetwork(ctx, (h) => h === info.name);
  void pushNetwork(ctx, (h) => h !== info.name);
  // Leftovers of rolled-back migrations wait for this host; do not hold the agent's call for them.
  void retryCleanups(ctx, info.name).catch((err: unknown) =>
    ctx.log.warn({ host: info.name, err }, "cleanup retry failed"),
  );
  return ctx.settings.reportIntervalMs;
}

/**
 * A lost container its host reports again is back. Its reservation was freed when it was lost, and
 * the room may have gone to others since: it is reserved again if it still fits (capacity ×
 * overcommit), and otherwise runs unreserved, said so by the event, rather than overcommitting the host.
 */
function reclaimLost(ctx: ControllerContext, host: string, name: string): void {
  const db = ctx.store.db;
  const c = getContainer(db, name);
  const h = stateOf(db).host(host);
  if (!c || c.host !== host || !h) return;
  const limits = c.spec.limits;
  const ask = { name, backend: c.backend, memoryBytes: limits.memoryBytes, cpus: limits.cpus, diskBytes: limits.diskBytes ?? 0 };
  // Its disk is in use on the host already: only the reservation is checked, not the free space.
  const refused = memoryFilter(h, ask) ?? cpuFilter(h, ask) ?? diskFilter({ ...h, diskFreeBytes: undefined }, ask);
  if (!refused) reservePlacement(db, host, name, limits);
  const reason = refused ? `no room to reserve it again: ${refused.reason}` : "";
  ctx.store.emit(SUBJECTS.containerFound, { container: name, host, reserved: !refused, reason });
  if (refused) ctx.log.warn({ container: name, host, reason }, "lost container is back but runs unreserved");
  else ctx.log.info({ container: name, host }, "lost container is back: reserved again");
}

/** Above this event-loop lag, reports count as heartbeats but their usage is dropped until it recovers. */
const SHED_USAGE_LAG_MS = 250;

function applyReport(ctx: ControllerContext, report: UsageReport): void {
  const db = ctx.store.db;
  if (!hostView(db, report.host)) throw failedPrecondition(`host ${report.host} is not registered; register first`);
  const now = Date.now();
  const shed = loopLag().ms > SHED_USAGE_LAG_MS;
  // Usage goes to memory; only state transitions (host back up, a container's state changed) are written.
  ctx.store.tx(() => {
    if (touchHost(db, report.host, report.diskFreeBytes, now)) {
      ctx.store.emit(SUBJECTS.hostUp, { host: report.host });
      ctx.log.info({ host: report.host }, "host is up again");
    }
    if (shed) return recordMentioned(db, report.host, report.containers, now);
    for (const usage of report.containers) {
      // A container in the middle of an operation is the operation's to describe.
      if (ctx.locks.actionOf(usage.name) !== undefined) continue;
      if (stateOf(db).container(usage.name)?.state === "lost") reclaimLost(ctx, report.host, usage.name);
      recordUsage(db, report.host, usage, now);
    }
    // What the host runs that the controller does not manage there is drift: shown, never
    // destroyed. A container under an operation (a migration's copy) is not drift.
    const state = stateOf(db);
    // Container names are unique in the cluster: one the controller placed on this host is managed here.
    const managedHere = (u: { name: string }) => state.container(u.name)?.host === report.host;
    const unmanaged = report.containers.filter((u) => !managedHere(u) && ctx.locks.actionOf(u.name) === undefined);
    replaceDrift(db, report.host, unmanaged, now);
  });
}
