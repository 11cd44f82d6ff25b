// Maps Corral's ContainerSpec to Docker's create body and Docker's inspect output back to a
// ContainerStatus. Kept free of I/O so the mapping is easy to read and test.
import { mergeLimits, type ContainerSpec, type ContainerStatus, type Limits, type PortMapping, type RuntimeState } from "@corral/wire";
import type Docker from "dockerode";
import { LABEL_HOST, LABEL_NAME, LABEL_SPEC, runtimeName } from "./runtime-names.js";
import type { Nic } from "../../network/nic.js";

export type PortBindings = Record<string, { HostIp?: string; HostPort?: string }[]>;
export type ExposedPorts = Record<string, Record<string, never>>;

/** `hostIp`: publish on the host's own address only ("" = every address, as Docker's default). */
export function portBindings(ports: readonly PortMapping[], hostIp = ""): { bindings: PortBindings; exposed: ExposedPorts } {
  const bindings: PortBindings = {};
  const exposed: ExposedPorts = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    // HostPort "" lets dockerd pick a free port, which is what 0 means.
    (bindings[key] ??= []).push({ ...(hostIp ? { HostIp: hostIp } : {}), HostPort: p.hostPort ? String(p.hostPort) : "" });
  }
  return { bindings, exposed };
}

/** The HostConfig fields that hold Corral's limits (and travel in a migration archive). */
export interface ResourceFields {
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  PidsLimit?: number;
}

/**
 * Docker's resource fields for Corral limits. MemorySwap is memory plus swap, so without --swap it
 * equals memory: a Corral memory limit is a hard cap. Docker has no disk quota on overlay2 (the
 * controller refuses --disk for docker before it gets here).
 */
export function resourceFields(limits: Limits): ResourceFields {
  const out: ResourceFields = {};
  if (limits.memoryBytes > 0) {
    out.Memory = limits.memoryBytes;
    out.MemorySwap = limits.memoryBytes + (limits.swapBytes ?? 0);
  }
  if (limits.cpus > 0) out.NanoCpus = Math.round(limits.cpus * 1e9);
  if (limits.cpuShares) out.CpuShares = limits.cpuShares;
  if (limits.pidsMax) out.PidsLimit = limits.pidsMax;
  return out;
}

export function corralLabels(hostName: string, spec: ContainerSpec): Record<string, string> {
  // Corral's own labels go last so a user label cannot pretend to belong to another host.
  return { ...spec.labels, [LABEL_HOST]: hostName, [LABEL_NAME]: spec.name, [LABEL_SPEC]: JSON.stringify(spec) };
}

/** The Docker network every Corral container joins: a bridge network on the host's Corral bridge. */
export const CORRAL_NETWORK = "corral";

/** NetworkMode and the static address on the Corral network (Docker API 1.41: the MAC is container-wide). */
export function networkFields(nic: Nic | undefined): Pick<Docker.ContainerCreateOptions, "NetworkingConfig" | "MacAddress"> & { NetworkMode?: string } {
  if (!nic) return {};
  return {
    NetworkMode: CORRAL_NETWORK,
    MacAddress: nic.mac,
    NetworkingConfig: { EndpointsConfig: { [CORRAL_NETWORK]: { IPAMConfig: { IPv4Address: nic.ip } } } },
  };
}

export function createOptions(
  hostName: string,
  spec: ContainerSpec,
  cgroupParent: string | undefined,
  nic?: Nic,
  hostIp = "",
): Docker.ContainerCreateOptions {
  const { bindings, exposed } = portBindings(spec.ports, hostIp);
  const { NetworkMode, ...net } = networkFields(nic);
  return {
    ...net,
    name: runtimeName(hostName, spec.name),
    Image: spec.image,
    ...(spec.cmd.length ? { Cmd: spec.cmd } : {}),
    Env: spec.env,
    Labels: corralLabels(hostName, spec),
    ExposedPorts: exposed,
    Tty: false,
    HostConfig: {
      ...resourceFields(spec.limits),
      PortBindings: bindings,
      RestartPolicy: { Name: "no" },
      ...(cgroupParent ? { CgroupParent: cgroupParent } : {}),
      ...(NetworkMode ? { NetworkMode } : {}),
    },
  };
}

export function runtimeState(status: string | undefined): RuntimeState {
  switch (status) {
    case "running":
    case "restarting":
      return "running";
    case "created":
    case "exited":
    case "dead":
      return "stopped";
    default:
      return "unknown"; // paused, removing
  }
}

export function limitsFromHostConfig(hc: ResourceFields | undefined): Limits {
  const memoryBytes = hc?.Memory ?? 0;
  const swap = hc?.MemorySwap ?? 0;
  return mergeLimits(
    { memoryBytes, cpus: (hc?.NanoCpus ?? 0) / 1e9 },
    // MemorySwap -1 is unlimited swap; a PidsLimit of 0 or -1 is no limit.
    { swapBytes: swap > memoryBytes && memoryBytes > 0 ? swap - memoryBytes : 0, cpuShares: hc?.CpuShares ?? 0, pidsMax: Math.max(0, hc?.PidsLimit ?? 0) },
  );
}

export function statusFromInspect(name: string, info: Docker.ContainerInspectInfo): ContainerStatus {
  const state = runtimeState(info.State?.Status);
  return {
    name,
    backend: "docker",
    state,
    initPid: state === "running" ? (info.State?.Pid ?? 0) : 0,
    limits: limitsFromHostConfig(info.HostConfig),
  };
}
