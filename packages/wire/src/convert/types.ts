// Generated ⇄ domain conversion for the messages of types.proto.
import * as pb from "../gen/corral/v1/types.js";
import type * as d from "../domain/types.js";
import { parseBackend, parseCompression } from "../domain/validate.js";
import { invalidArgument } from "../domain/errors.js";
import { PLAIN_EXEC, mergeLimits } from "../domain/types.js";

export { parseBackend as backendFromProto, parseCompression as compressionFromProto };

const runtimeState = (s: string): d.RuntimeState => (s === "running" || s === "stopped" ? s : "unknown");

export const limitsToProto = (l: d.Limits): pb.Limits => ({
  memoryBytes: l.memoryBytes,
  cpus: l.cpus,
  swapBytes: l.swapBytes || undefined,
  cpuShares: l.cpuShares || undefined,
  pidsMax: l.pidsMax || undefined,
  diskBytes: l.diskBytes || undefined,
});
/** The later limits are left out when 0 (see d.Limits), so a spec read back deep-equals the one sent. */
export const limitsFromProto = (l: pb.Limits | undefined): d.Limits =>
  mergeLimits({ memoryBytes: l?.memoryBytes ?? 0, cpus: l?.cpus ?? 0 }, { swapBytes: l?.swapBytes, cpuShares: l?.cpuShares, pidsMax: l?.pidsMax, diskBytes: l?.diskBytes });

export function specToProto(s: d.ContainerSpec): pb.ContainerSpec {
  return {
    name: s.name,
    backend: s.backend,
    template: s.template,
    image: s.image,
    limits: limitsToProto(s.limits),
    env: s.env,
    cmd: s.cmd,
    ports: s.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol })),
    labels: s.labels,
    privileged: s.privileged ?? false,
    nesting: s.nesting ?? false,
    ipv4: s.ipv4 ?? "",
  };
}

export function specFromProto(s: pb.ContainerSpec | undefined): d.ContainerSpec {
  if (!s) throw invalidArgument("container spec missing");
  return {
    name: s.name,
    backend: parseBackend(s.backend || "lxc"),
    template: s.template,
    image: s.image,
    limits: limitsFromProto(s.limits),
    env: [...s.env],
    cmd: [...s.cmd],
    ports: s.ports.map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol === "udp" ? "udp" : "tcp",
    })),
    labels: { ...s.labels },
    // Only when asked for: specs without them stay as they were (stored JSON, equality in tests).
    ...(s.privileged ? { privileged: true } : {}),
    ...(s.nesting ? { nesting: true } : {}),
    ...(s.ipv4 ? { ipv4: s.ipv4 } : {}),
  };
}

export const refToProto = (r: d.ContainerRef): { name: string; backend: string } => ({ name: r.name, backend: r.backend });
export function refFromProto(r: { name: string; backend: string } | undefined): d.ContainerRef {
  if (!r) throw invalidArgument("container reference missing");
  return { name: r.name, backend: parseBackend(r.backend || "lxc") };
}

export const statusToProto = (s: d.ContainerStatus): pb.ContainerStatus => ({
  name: s.name,
  backend: s.backend,
  state: s.state,
  initPid: s.initPid,
  limits: limitsToProto(s.limits),
  lastExit: s.lastExit ? { ...s.lastExit } : undefined,
});
export function statusFromProto(s: pb.ContainerStatus | undefined): d.ContainerStatus {
  if (!s) throw new TypeError("container status missing");
  const st: d.ContainerStatus = { ...refFromProto(s), state: runtimeState(s.state), initPid: s.initPid, limits: limitsFromProto(s.limits) };
  if (s.lastExit) st.lastExit = { ...s.lastExit };
  return st;
}

export const processToProto = (p: d.ProcessInfo): pb.ProcessInfo => ({ ...p });
export const processFromProto = (p: pb.ProcessInfo): d.ProcessInfo => ({ ...p });

export const usageToProto = (u: d.ContainerUsage): pb.ContainerUsage => ({ ...u });
export const usageFromProto = (u: pb.ContainerUsage): d.ContainerUsage => ({
  ...u,
  ...refFromProto(u),
  state: runtimeState(u.state),
});

export const backendInfoToProto = (b: d.BackendInfo): pb.BackendInfo => ({ ...b, capabilities: [...b.capabilities] });
export const backendInfoFromProto = (b: pb.BackendInfo): d.BackendInfo => ({ ...b, capabilities: [...b.capabilities] });

export const hostInfoToProto = (h: d.HostInfo): pb.HostInfo => ({ ...h, backends: h.backends.map(backendInfoToProto), dataAddress: h.dataAddress ?? "" });
export function hostInfoFromProto(h: pb.HostInfo | undefined): d.HostInfo {
  if (!h) throw new TypeError("host info missing");
  const { dataAddress, ...rest } = h;
  return { ...rest, backends: h.backends.map(backendInfoFromProto), ...(dataAddress ? { dataAddress } : {}) };
}

export function execOutputToProto(o: d.ExecOutput): pb.ExecOutput {
  switch (o.kind) {
    case "stdout":
      return { kind: { $case: "stdout", value: o.data } };
    case "stderr":
      return { kind: { $case: "stderr", value: o.data } };
    case "exit":
      return { kind: { $case: "exitCode", value: o.code } };
  }
}
export function execOutputFromProto(o: pb.ExecOutput | undefined): d.ExecOutput {
  switch (o?.kind?.$case) {
    case "stdout":
      return { kind: "stdout", data: o.kind.value };
    case "stderr":
      return { kind: "stderr", data: o.kind.value };
    case "exitCode":
      return { kind: "exit", code: o.kind.value };
    default:
      throw new TypeError("empty exec output message");
  }
}

export const execOptionsToProto = (o: d.ExecOptions | undefined): pb.ExecOptions => {
  const x = o ?? PLAIN_EXEC;
  return { tty: x.tty, size: { ...x.size }, login: x.login };
};
export const execOptionsFromProto = (o: pb.ExecOptions | undefined): d.ExecOptions => ({
  tty: o?.tty ?? false,
  size: { cols: o?.size?.cols ?? 0, rows: o?.size?.rows ?? 0 },
  login: o?.login ?? false,
});

export function execInputToProto(i: d.ExecInput): pb.ExecInput {
  switch (i.kind) {
    case "stdin":
      return { kind: { $case: "stdin", value: i.data } };
    case "eof":
      return { kind: { $case: "stdinClose", value: true } };
    case "resize":
      return { kind: { $case: "resize", value: { ...i.size } } };
  }
}
export function execInputFromProto(i: pb.ExecInput | undefined): d.ExecInput {
  switch (i?.kind?.$case) {
    case "stdin":
      return { kind: "stdin", data: i.kind.value };
    case "stdinClose":
      return { kind: "eof" };
    case "resize":
      return { kind: "resize", size: { cols: i.kind.value.cols, rows: i.kind.value.rows } };
    default:
      throw invalidArgument("empty exec input message");
  }
}

export const imageHeaderToProto = (h: d.ImageHeader): pb.ImageHeader => ({ ...h, hosts: [...h.hosts], sha256: h.sha256 ?? "" });
export function imageChunkToProto(c: d.ImageChunk): pb.ImageChunk {
  return c.kind === "header"
    ? { kind: { $case: "header", value: imageHeaderToProto(c.header) } }
    : { kind: { $case: "data", value: c.data } };
}
export function imageChunkFromProto(c: pb.ImageChunk | undefined): d.ImageChunk {
  switch (c?.kind?.$case) {
    case "header": {
      const { sha256, ...h } = c.kind.value;
      return { kind: "header", header: { ...h, backend: parseBackend(h.backend || "docker"), hosts: [...h.hosts], ...(sha256 ? { sha256 } : {}) } };
    }
    case "data":
      return { kind: "data", data: c.kind.value };
    default:
      throw invalidArgument("empty image chunk");
  }
}

export function copyInChunkToProto(c: d.CopyInChunk): pb.CopyInChunk {
  return c.kind === "header" ? { kind: { $case: "header", value: { ...c.header } } } : { kind: { $case: "data", value: c.data } };
}
export function copyInChunkFromProto(c: pb.CopyInChunk | undefined): d.CopyInChunk {
  switch (c?.kind?.$case) {
    case "header":
      return { kind: "header", header: { ...c.kind.value } };
    case "data":
      return { kind: "data", data: c.kind.value };
    default:
      throw invalidArgument("empty copy chunk");
  }
}

export const imageInfoToProto = (i: d.ImageInfo): pb.ImageInfo => ({ ...i });
export function imageInfoFromProto(i: pb.ImageInfo | undefined): d.ImageInfo {
  if (!i) throw new TypeError("image info missing");
  return { ...i, backend: parseBackend(i.backend) };
}

export const conversionPlanToProto = (c: d.ConversionPlan): pb.ConversionPlan => ({
  ...c,
  carried: c.carried.map((i) => ({ ...i })),
  dropped: c.dropped.map((i) => ({ ...i })),
});
export const conversionPlanFromProto = (c: pb.ConversionPlan): d.ConversionPlan => ({
  sourceBackend: parseBackend(c.sourceBackend),
  targetBackend: parseBackend(c.targetBackend),
  carried: c.carried.map((i) => ({ key: i.key, detail: i.detail })),
  dropped: c.dropped.map((i) => ({ key: i.key, detail: i.detail })),
});
