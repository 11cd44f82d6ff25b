import type { Backend, BackendContext, LiveLimits } from "../backend.js";
import { OpenvzBackend, type OpenvzBackendOptions } from "./openvz-backend.js";

export { type OpenvzBackendOptions } from "./openvz-backend.js";
export { OPENVZ_ARCHIVE_FORMAT } from "./staged-ct.js";

/** OpenVZ through vzctl/vzlist; on this machine, through the stand-in in deploy/openvz-standin. */
export function createOpenvzBackend(ctx: BackendContext, opts: OpenvzBackendOptions = {}): Backend & LiveLimits {
  return new OpenvzBackend(ctx, opts);
}
