// `ct migrate --dry-run`: the checks a migration makes before it changes anything, and nothing
// else. validateMigration covers the target's capacity and backend; here the hosts themselves
// are asked, so a dry run fails on what the real run would meet first.
import { CorralError, failedPrecondition, formatBytes, messageOf, unavailable, type BackendName, type ConversionPlan } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { validateMigration, type ValidMigration } from "./validate-migration.js";

const ANSWER_WITHIN_MS = 5000;
/** The source's own handshake deadline (data-link.ts) is 15 s; a dry run waits a little less. */
const PROBE_WITHIN_MS = 12_000;

async function withinMs<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

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

export async function preflight(ctx: ControllerContext, name: string, targetHost: string, targetBackend?: BackendName): Promise<ValidMigration & { conversion?: ConversionPlan }> {
  const valid = validateMigration(ctx, name, targetHost, targetBackend);
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
  const conversion = await conversionPlan(ctx, valid);
  return conversion ? { ...valid, conversion } : valid;
}
