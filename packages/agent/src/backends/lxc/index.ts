import type { Backend, BackendContext, LiveLimits } from "../backend.js";
import { LxcBackend, type LxcBackendOptions } from "./lxc-backend.js";

export { LxcBackend, type LxcBackendOptions } from "./lxc-backend.js";
export { ARCHIVE_FORMAT as LXC_ARCHIVE_FORMAT } from "./archive.js";

/** LXC system containers through the lxc-* tools, under their own lxcpath. */
export function createLxcBackend(ctx: BackendContext, opts: LxcBackendOptions = {}): Backend & LiveLimits {
  return new LxcBackend(ctx, opts);
}
