import type { Backend, BackendContext, ImageImport, LiveLimits } from "../backend.js";
import { DockerBackend, type DockerBackendOptions } from "./docker-backend.js";

export type { DockerBackendOptions } from "./docker-backend.js";
export { ARCHIVE_FORMAT as DOCKER_ARCHIVE_FORMAT } from "./archive.js";

export function createDockerBackend(ctx: BackendContext, opts: DockerBackendOptions): Backend & LiveLimits & ImageImport {
  return new DockerBackend(ctx, opts);
}
