import type { Backend, BackendContext, ImageImport, LiveLimits } from "../backend.js";
import { LxdBackend, type LxdBackendOptions } from "./lxd-backend.js";

export { LxdBackend, type LxdBackendOptions } from "./lxd-backend.js";
export { DEFAULT_LXD_SOCKET } from "./client.js";
export { ARCHIVE_FORMAT as LXD_ARCHIVE_FORMAT } from "./archive.js";

export function createLxdBackend(ctx: BackendContext, opts: LxdBackendOptions = {}): Backend & LiveLimits & ImageImport {
  return new LxdBackend(ctx, opts);
}
