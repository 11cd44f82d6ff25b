// A mistake in how the command was typed (unknown flag, missing argument, bad flag value).
// It is a CorralError like any other; the CLI exits 2 for it instead of 1, as getopt tools do.
import { CorralError } from "@corral/wire";

export class UsageError extends CorralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_argument", message, options);
  }
}

/** Runs a local validator (parseSize, validateName…) and reports its complaint as a usage error. */
export function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CorralError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}
