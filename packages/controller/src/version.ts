import { packageVersion } from "@corral/wire";

/** The controller's version, from its package.json (lib/ sits beside it). */
export const controllerVersion = (): string => packageVersion(import.meta.url);
