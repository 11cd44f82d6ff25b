// What a Docker archive from another host may carry (DESIGN.md, "Threat model"): exactly the fields
// Corral's own encoder writes (migration-archive.ts). `Privileged`, `Binds`, `Devices`, `CapAdd`,
// host namespaces and every other HostConfig field are refused with the key named, not dropped, so
// a tampered archive is seen as one. The filesystem goes through the same strict tar check as LXC.
import { invalidArgument } from "@corral/wire";
import type { TarPolicy } from "../../archive/tar-guard.js";

/** The export is unpacked by dockerd into its own storage, never onto a host path: setuid programs may move. */
export const DOCKER_TAR_POLICY: TarPolicy = { setid: "allow" };

const TOP = new Set(["format", "spec", "config", "hostConfig"]);
const CONFIG = new Set(["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "StopSignal"]);
const HOST_CONFIG = new Set(["PortBindings", "Memory", "NanoCpus", "MemorySwap", "CpuShares", "PidsLimit"]);
const SPEC = new Set(["name", "backend", "template", "image", "limits", "env", "cmd", "ports", "labels"]);
const PORT_BINDING = new Set(["HostIp", "HostPort"]);

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

function only(where: string, v: unknown, allowed: Set<string>): void {
  if (v === undefined || v === null) return;
  if (!isRecord(v)) throw invalidArgument(`docker archive config: "${where}" is not an object`);
  for (const k of Object.keys(v)) {
    if (!allowed.has(k)) throw invalidArgument(`docker archive config sets "${where ? `${where}.` : ""}${k}", which Corral does not carry across hosts`);
  }
}

/** Throws naming the first field of the archive's config that Corral's encoder would not have written. */
export function checkDockerConfig(p: Record<string, unknown>): void {
  only("", p, TOP);
  only("config", p.config, CONFIG);
  only("hostConfig", p.hostConfig, HOST_CONFIG);
  only("spec", p.spec, SPEC);
  const hc = isRecord(p.hostConfig) ? p.hostConfig : {};
  for (const [port, list] of Object.entries(isRecord(hc.PortBindings) ? hc.PortBindings : {})) {
    if (!Array.isArray(list)) throw invalidArgument(`docker archive config: port bindings of "${port}" are not a list`);
    for (const b of list) {
      only(`hostConfig.PortBindings.${port}`, b, PORT_BINDING);
      const ip = isRecord(b) ? b.HostIp : undefined;
      if (ip !== undefined && ip !== "" && (typeof ip !== "string" || !/^[0-9a-fA-F.:]{1,45}$/.test(ip))) {
        throw invalidArgument(`docker archive config: port "${port}" binds to an invalid host address`);
      }
    }
  }
}
