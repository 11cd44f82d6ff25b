// Host labels, cordon/uncordon and cluster settings: operator choices, written to SQLite and memory
// together with their event.
import { invalidArgument, notFound, validateName, type Host } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost, hostView, listHosts, setAdminState, setHostLabels, setOvercommit } from "../store/hosts.js";
import { setSetting } from "../store/settings.js";
import type { AdminState } from "../store/cluster-state.js";
import { ALGORITHMS } from "../scheduler/index.js";
import { SUBJECTS } from "../events/subjects.js";

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9._/-]{0,63}$/;

export function requireHost(ctx: ControllerContext, name: string): Host {
  const h = getHost(ctx.store.db, name);
  if (!h) {
    const known = listHosts(ctx.store.db).map((x) => x.name).join(", ") || "none";
    throw notFound(`host "${name}" not found (known: ${known})`);
  }
  return h;
}

export function labelHost(ctx: ControllerContext, name: string, set: Record<string, string>, remove: string[]): Host {
  validateName("host", name);
  requireHost(ctx, name);
  for (const [k, v] of Object.entries(set)) {
    if (!LABEL_KEY.test(k)) throw invalidArgument(`label key "${k}" must be letters, digits, . _ / - (at most 63)`);
    if (!LABEL_VALUE.test(v)) throw invalidArgument(`label value "${v}" of ${k} must be letters, digits, . _ / - (at most 63)`);
  }
  if (Object.keys(set).length === 0 && remove.length === 0) throw invalidArgument("no labels to set or remove");
  const current = hostView(ctx.store.db, name)?.labels ?? {};
  const missing = remove.filter((k) => !(k in current));
  if (missing.length) throw invalidArgument(`host ${name} has no label ${missing.join(", ")} (it has: ${Object.keys(current).join(", ") || "none"})`);
  const labels = { ...current, ...set };
  for (const k of remove) delete labels[k];
  ctx.store.tx(() => {
    setHostLabels(ctx.store.db, name, labels);
    ctx.store.emit(SUBJECTS.hostLabels, { host: name, labels });
  });
  return requireHost(ctx, name);
}

/** Above this, a ratio is more likely a typo (15 for 1.5) than a plan. */
const MAX_OVERCOMMIT = 10;

/**
 * How far placement may fill a host's memory and CPUs beyond its capacity. Lowering it below what is
 * already reserved moves nothing; it only keeps new placements off until the host is under it again.
 */
export function setHostOvercommit(ctx: ControllerContext, name: string, ratio: number): Host {
  validateName("host", name);
  const before = requireHost(ctx, name).overcommit;
  // Below 1.0 keeps headroom free (0.8: placement stops at 80 % of capacity).
  if (!Number.isFinite(ratio) || ratio <= 0 || ratio > MAX_OVERCOMMIT) {
    throw invalidArgument(`overcommit ${String(ratio)} must be a number above 0 and at most ${MAX_OVERCOMMIT} (1.0: never beyond capacity)`);
  }
  ctx.store.tx(() => {
    setOvercommit(ctx.store.db, name, ratio);
    ctx.store.emit(SUBJECTS.hostOvercommit, { host: name, from: before, to: ratio });
  });
  ctx.log.info({ host: name, from: before, to: ratio }, "host overcommit set");
  return requireHost(ctx, name);
}

/** Sets the operator's state of a host; the event says what it was and what it is. */
export function setHostAdminState(ctx: ControllerContext, name: string, admin: AdminState): Host {
  validateName("host", name);
  const before = requireHost(ctx, name).state;
  ctx.store.tx(() => {
    setAdminState(ctx.store.db, name, admin);
    ctx.store.emit(SUBJECTS.hostState, { host: name, from: before, to: admin });
  });
  ctx.log.info({ host: name, from: before, to: admin }, "host state set");
  return requireHost(ctx, name);
}

export function cordonHost(ctx: ControllerContext, name: string): Host {
  const h = requireHost(ctx, name);
  if (h.state === "draining" || h.state === "drained") {
    throw invalidArgument(`host ${name} is ${h.state}; \`corral host restore ${name}\` ends a drain`);
  }
  return setHostAdminState(ctx, name, "cordoned");
}

export function uncordonHost(ctx: ControllerContext, name: string): Host {
  const h = requireHost(ctx, name);
  if (h.state === "draining" || h.state === "drained") {
    throw invalidArgument(`host ${name} is ${h.state}; \`corral host restore ${name}\` ends a drain and moves its containers back`);
  }
  return setHostAdminState(ctx, name, "ready");
}

/** Cluster-wide settings; only the keys below exist. */
const SETTINGS: Record<string, (v: string) => string | undefined> = {
  strategy: (v) => ((ALGORITHMS as readonly string[]).includes(v) ? undefined : `strategy must be one of ${ALGORITHMS.join(", ")}`),
};

export function setClusterSetting(ctx: ControllerContext, key: string, value: string): void {
  const check = SETTINGS[key];
  if (!check) throw invalidArgument(`unknown cluster setting "${key}" (settings: ${Object.keys(SETTINGS).join(", ")})`);
  const bad = check(value);
  if (bad) throw invalidArgument(bad);
  ctx.store.tx(() => {
    setSetting(ctx.store.db, key, value);
    ctx.store.emit(SUBJECTS.clusterSetting, { key, value });
  });
}
