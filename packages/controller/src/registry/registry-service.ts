// RegistryService: agents register, then stream usage reports that double as heartbeats.
import { failedPrecondition, validateName, type HostInfo, type RegistryHandlers, type UsageReport } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost, touchHost, upsertHost } from "../store/hosts.js";
import { listContainers, recordUsage } from "../store/containers.js";
import { replaceDrift } from "../store/drift.js";
import { SUBJECTS } from "../events/subjects.js";
import { dialAddress } from "./agent-address.js";
import { retryCleanups } from "../migration/cleanups.js";

export function registryHandlers(ctx: ControllerContext): RegistryHandlers {
  return {
    register: async (info, peer) => register(ctx, info, peer),
    reportUsage: async (reports) => {
      for await (const report of reports) applyReport(ctx, report);
    },
  };
}

async function register(ctx: ControllerContext, info: HostInfo, peer: string): Promise<number> {
  validateName("host", info.name);
  const address = dialAddress(info.address, peer);
  const host = { ...info, address };
  const { previous } = ctx.store.tx(() => {
    const r = upsertHost(ctx.store.db, host, Date.now());
    ctx.store.emit(SUBJECTS.hostRegistered, { host: info.name, address, agentVersion: info.agentVersion });
    if (r.previous === "down") ctx.store.emit(SUBJECTS.hostUp, { host: info.name });
    return r;
  });
  // A fresh channel: an agent that registers has (re)started, and the old channel may still hold
  // the failure it saw while the agent was away.
  ctx.agents.renew({ name: info.name, address });
  ctx.log.info({ host: info.name, address, previous: previous ?? "new" }, "host registered");
  // Leftovers of rolled-back migrations wait for this host; do not hold the agent's call for them.
  void retryCleanups(ctx, info.name).catch((err: unknown) =>
    ctx.log.warn({ host: info.name, err }, "cleanup retry failed"),
  );
  return ctx.settings.reportIntervalMs;
}

function applyReport(ctx: ControllerContext, report: UsageReport): void {
  const db = ctx.store.db;
  if (!getHost(db, report.host)) throw failedPrecondition(`host ${report.host} is not registered; register first`);
  const now = Date.now();
  ctx.store.tx(() => {
    if (touchHost(db, report.host, report.diskFreeBytes, now)) {
      ctx.store.emit(SUBJECTS.hostUp, { host: report.host });
      ctx.log.info({ host: report.host }, "host is up again");
    }
    for (const usage of report.containers) {
      // A container in the middle of an operation is the operation's to describe.
      if (ctx.locks.actionOf(usage.name) === undefined) recordUsage(db, report.host, usage, now);
    }
    // What the host runs that the controller does not manage there is drift: shown, never
    // destroyed. A container under an operation (a migration's copy) is not drift.
    const managed = new Set(listContainers(db, report.host).map((c) => `${c.backend}/${c.name}`));
    const unmanaged = report.containers.filter((u) => !managed.has(`${u.backend}/${u.name}`) && ctx.locks.actionOf(u.name) === undefined);
    replaceDrift(db, report.host, unmanaged, now);
  });
}
