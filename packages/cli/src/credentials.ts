// The person's side of authentication: which token the CLI sends, and how a refusal reads.
import { isCode } from "@corral/wire";
import type { Args } from "./args.js";
import type { Io } from "./command.js";
import { resolveToken } from "./config.js";

export const NO_CREDENTIAL = "permission denied: no credential (give --token, set CORRAL_TOKEN, or run corral cluster init)";

/** --token, then $CORRAL_TOKEN, then the config file's "token". */
export const tokenFor = (args: Args, io: Io): string | undefined => resolveToken(args.string("token"), io.env)?.token;

/**
 * The controller says only "no credential"; the CLI knows where a token could have come from.
 * Other refusals ("role read-only may not …", "token … was revoked") pass through unchanged.
 */
export function refusalMessage(err: unknown, sentToken: boolean): string | undefined {
  return isCode(err, "unauthenticated") && !sentToken && err.message.startsWith("permission denied: no credential") ? NO_CREDENTIAL : undefined;
}
