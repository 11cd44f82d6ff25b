// `ct migrate --dry-run`: the checks a migration makes before it changes anything, and nothing
// else. validateMigration covers the target's capacity and backend; here the hosts themselves
// are asked, so a dry run fails on what the real run would meet first.
import { failedPrecondition, formatBytes, messageOf, unavailable, type BackendName, type ConversionPlan } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { validateMigration, type ValidMigration } from "./validate-migration.js";

const ANSWER_WITHIN_MS = 5000;

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

export async function preflight(ctx: ControllerContext, name: string, targetHost: string, targetBackend?: BackendName, precopy = false): Promise<ValidMigration & { conversion?: ConversionPlan }> {
  const valid = validateMigration(ctx, name, targetHost, targetBackend, precopy);
  const { source, target } = valid;
  // Both agents must answer now (the copy runs between them, driven from here).
  const [sourceInfo, targetInfo] = await Promise.all(
    [source, target].map(async (h) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS / 1000} s`)), ANSWER_WITHIN_MS);
      });
      try {
        return await Promise.race([ctx.agents.of(h).hostInfo(), late]);
      } catch (err) {
        throw unavailable(`pre-flight: host ${h.name} does not answer: ${messageOf(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  if (!sourceInfo || !targetInfo) throw new Error("pre-flight: host info missing");
  // The archive lands in the target's staging directory: it needs at least the memory the
  // container may hold (a floor, not the size of its tree, which only the source can measure).
  const floor = valid.container.spec.limits.memoryBytes;
  if (targetInfo.diskFreeBytes <= floor) {
    throw failedPrecondition(
      `pre-flight: host ${target.name} has ${formatBytes(targetInfo.diskFreeBytes)} free, not enough for the archive of ${name}`,
    );
  }
  const conversion = await conversionPlan(ctx, valid);
  return conversion ? { ...valid, conversion } : valid;
}
