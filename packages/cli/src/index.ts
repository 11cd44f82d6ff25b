export { runCli, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, GLOBAL_FLAGS } from "./cli.js";
export { parseArgs, Args, type FlagSpec } from "./args.js";
export { resolveController, configPath, readConfig } from "./config.js";
export { Connection } from "./connection.js";
export { formatTable } from "./table.js";
export { formatProgressLine, ProgressReporter } from "./progress.js";
export { COMMANDS } from "./commands/index.js";
export type { CommandModule, Context, Io } from "./command.js";
export { buildDebianImage, cacheKey, DEFAULT_CACHE, type BuiltImage, type DebianImageInputs } from "./debian-image.js";
