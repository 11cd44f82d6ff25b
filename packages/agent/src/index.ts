export type { Backend, BackendContext, LiveLimits, ImageImport, ArchiveOut, ProbeResult } from "./backends/backend.js";
export { createLxcBackend } from "./backends/lxc/index.js";
export { extractTarSafely } from "./archive/safe-extract.js";
export { createTarStream } from "./archive/tar-stream.js";
export { startAgent, type RunningAgent } from "./agent.js";
export { parseAgentConfig, type AgentConfig } from "./config.js";
