import { cpus, totalmem } from "node:os";
import { statfs } from "node:fs/promises";
import type { HostInfo } from "@corral/wire";
import type { BackendRegistry } from "./backends/registry.js";

export const AGENT_VERSION = "0.1.0";

export async function diskOf(path: string): Promise<{ total: number; free: number }> {
  const s = await statfs(path);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

export async function hostInfo(name: string, address: string, stateDir: string, registry: BackendRegistry): Promise<HostInfo> {
  const disk = await diskOf(stateDir);
  return {
    name,
    address,
    cpus: cpus().length,
    memoryBytes: totalmem(),
    diskBytes: disk.total,
    diskFreeBytes: disk.free,
    backends: registry.infos(),
    agentVersion: AGENT_VERSION,
  };
}
