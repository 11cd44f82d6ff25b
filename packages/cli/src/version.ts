import { packageVersion } from "@corral/wire";

/** The CLI's version, from its package.json (lib/ sits beside it). */
export const cliVersion = (): string => packageVersion(import.meta.url);
