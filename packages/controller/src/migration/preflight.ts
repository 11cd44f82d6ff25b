// `ct migrate --dry-run`: the checks a migration makes before it changes anything, and nothing
// else. validateMigration covers the target's capacity and backend; here the hosts themselves
// are asked, so a dry run fails on what the real run would meet first.
import { CorralError, failedPrecondition, withDeadline, formatBytes, isNotServed, messageOf, unavailable, type AddressInUse, type BackendName, type Host, type ConversionPlan } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { stateOf } from "../store/cluster-state.js";
import { addressOf } from "../network/pool.js";
import { validateMigration, type ValidMigration } from "./validate-migration.js";

const ANSWER_WITHIN_MS = 5000;
/** The source's own handshake deadline (data-link.ts) is 15 s; a dry run waits a little less. */
const PROBE_WITHIN_MS = 12_000;

const withinMs = <T>(ms: number, work: Promise<T>): Promise<T> => withDeadline(work, ms, () => new Error(`no answer within ${ms / 1000} s`));

/**
 * What a converting move (ct migrate --backend) makes of the container's own settings, asked of
 * its source host, which alone holds its runtime config; undefined when the move does not convert.
 */
export async function conversionPlan(ctx: ControllerContext, valid: ValidMigration): Promise<ConversionPlan | undefined> {
  const { container, source, targetBackend } = valid;
  if (targetBackend === container.backend) return undefined;
  try {
    return await ctx.agents.of(source).planConversion({ name: container.name, backend: container.backend }, targetBackend);
  } catch (err) {
    throw failedPrecondition(`pre-flight: host ${source.name} cannot plan the conversion of ${container.name} to ${targetBackend}: ${messageOf(err)}`, err);
  }
}

/** What a host's containers hold beside the pool; nothing from an agent built without the RPC (a test double). */
async function addressesOn(ctx: ControllerContext, host: Host): Promise<AddressInUse[]> {
  try {
    return await ctx.agents.of(host).addressesInUse();
  } catch (err) {
    if (isNotServed(err)) return [];
    throw unavailable(`pre-flight: host ${host.name} cannot list the addresses its containers hold: ${messageOf(err)}`, err);
  }
}

/**
 * vzmigrate's check, before anything moves: every address the container takes to the target (its
 * pool address; on OpenVZ → OpenVZ also the IP_ADDRESS of its CTID.conf, which moves with it) must
 * be free there, i.e. held by no container of the target (vzlist -a -o ip) and, for an address the
 * controller did not give it, by nobody in the pool.
 */
export async function refuseAddressCollisions(ctx: ControllerContext, valid: ValidMigration): Promise<void> {
  const { container, source, target, targetBackend } = valid;
  const wanted = new Map<string, string>();
  if (container.spec.ipv4) wanted.set(addressOf(container.spec.ipv4), "its address");
  if (container.backend === "openvz" && targetBackend === "openvz") {
    for (const a of await addressesOn(ctx, source)) if (a.container === container.name && !wanted.has(a.address)) wanted.set(a.address, `its IP_ADDRESS (${a.holder})`);
  }
  if (!wanted.size) return;
  const state = stateOf(ctx.store.db);
  for (const [ip, what] of wanted) {
    const pool = state.holderOf(ip);
    if (pool && !(pool.kind === "container" && pool.holder === container.name)) {
      throw failedPrecondition(`pre-flight: ${what} ${ip} of ${container.name} is held in the container network by ${pool.kind} ${pool.holder}`);
    }
  }
  for (const a of await addressesOn(ctx, target)) {
    const what = wanted.get(a.address);
    if (what && a.container !== container.name) {
      throw failedPrecondition(
        `pre-flight: ${what} ${a.address} of ${container.name} is already in use on ${target.name} by ${a.holder}${a.container ? ` (container ${a.container})` : ""}`,
      );
    }
  }
}

export async function preflight(ctx: ControllerContext, name: string, targetHost: string, targetBackend?: BackendName, precopy = false): Promise<ValidMigration & { conversion?: ConversionPlan }> {
  const valid = validateMigration(ctx, name, targetHost, targetBackend, precopy);
  const { source, target } = valid;
  // Both agents must answer now (the copy runs between them, driven from here).
  const [sourceInfo, targetInfo] = await Promise.all(
    [source, target].map(async (h) => {
      try {
        return await withinMs(ANSWER_WITHIN_MS, ctx.agents.of(h).hostInfo());
      } catch (err) {
        throw unavailable(`pre-flight: host ${h.name} does not answer: ${messageOf(err)}`);
      }
    }),
  );
  if (!sourceInfo || !targetInfo) throw new Error("pre-flight: host info missing");
  // The two agents reach each other: the source dials the target's data listener as the copy will
  // (mutual TLS, the target proving its name), and the target says what it has free for staging.
  let stagingFree = targetInfo.diskFreeBytes;
  if (targetInfo.dataAddress) {
    try {
      const probe = await withinMs(PROBE_WITHIN_MS, ctx.agents.of(source).probePeer({ targetHost: target.name, dataAddress: targetInfo.dataAddress, targetBackend: valid.targetBackend }));
      stagingFree = probe.stagingFreeBytes;
    } catch (err) {
      // The listener is the target's: a source that answers us but cannot reach it blames the target.
      throw unavailable(`pre-flight: data link ${source.name} → ${target.name}: host ${target.name} cannot be reached on its data listener: ${messageOf(err)}`);
    }
  }
  // The archive lands in the target's staging directory: it needs at least the memory the
  // container may hold (a floor, not the size of its tree, which only the source can measure).
  const floor = valid.container.spec.limits.memoryBytes;
  if (stagingFree <= floor) {
    throw new CorralError(
      "resource_exhausted",
      `pre-flight: free disk: host ${target.name} has ${formatBytes(stagingFree)} free for staging, not enough for the archive of ${name} (no space for at least ${formatBytes(floor)})`,
    );
  }
  await refuseAddressCollisions(ctx, valid);
  const conversion = await conversionPlan(ctx, valid);
  return conversion ? { ...valid, conversion } : valid;
}
