// Generated ⇄ domain conversion for the messages of agent.proto.
import type * as pb from "../gen/corral/agent/v1/agent.js";
import type * as d from "../domain/types.js";
import { parseBackend, parseCompression } from "../domain/validate.js";
import { invalidArgument } from "../domain/errors.js";
import { execInputFromProto, execInputToProto, execOptionsFromProto, execOptionsToProto, refFromProto, refToProto, specFromProto, specToProto } from "./types.js";

export function transferHeaderFromProto(h: pb.TransferHeader): d.TransferHeader {
  return { ...h, ref: refFromProto(h.ref), compression: parseCompression(h.compression) };
}

export function archiveChunkToProto(c: d.ArchiveChunk): pb.ReceiveArchiveRequest {
  switch (c.kind) {
    case "header":
      return { kind: { $case: "header", value: { ...c.header, ref: refToProto(c.header.ref) } } };
    case "data":
      return { kind: { $case: "data", value: c.data } };
    case "trailer":
      return { kind: { $case: "trailer", value: { ...c.trailer } } };
  }
}

export function archiveChunkFromProto(c: pb.ReceiveArchiveRequest): d.ArchiveChunk {
  switch (c.kind?.$case) {
    case "header":
      return { kind: "header", header: transferHeaderFromProto(c.kind.value) };
    case "data":
      return { kind: "data", data: c.kind.value };
    case "trailer":
      return { kind: "trailer", trailer: { ...c.kind.value } };
    default:
      throw invalidArgument("empty archive chunk");
  }
}

export const prepareReceiveToProto = ({ grants, sourceBackend, ...p }: d.PrepareReceive): pb.PrepareReceiveRequest => ({
  ...p,
  sourceBackend: sourceBackend ?? "",
  ref: refToProto(p.ref),
  privileged: grants?.privileged ?? false,
  nesting: grants?.nesting ?? false,
  spec: p.spec ? specToProto(p.spec) : undefined,
});
export const prepareReceiveFromProto = (p: pb.PrepareReceiveRequest): d.PrepareReceive => {
  const { spec, privileged, nesting, sourceBackend, ...rest } = p;
  return {
    ...rest,
    ...(sourceBackend ? { sourceBackend: parseBackend(sourceBackend) } : {}),
    ref: refFromProto(p.ref),
    compression: parseCompression(p.compression),
    grants: { privileged, nesting },
    ...(spec ? { spec: specFromProto(spec) } : {}),
  };
};

export const networkConfigToProto = (n: d.HostNetworkConfig): pb.ConfigureNetworkRequest => ({ ...n, peers: [...n.peers] });
export const networkConfigFromProto = (n: pb.ConfigureNetworkRequest): d.HostNetworkConfig => ({ ...n, peers: [...n.peers] });

export const sendArchiveToProto = (s: d.SendArchive): pb.SendArchiveRequest => ({
  ...s,
  ref: refToProto(s.ref),
  bwlimitBytesPerSecond: s.bwlimitBytesPerSecond ?? 0,
  dataAddress: s.dataAddress ?? "",
  precopyPass: s.precopyPass ?? "",
});
export const sendArchiveFromProto = ({ dataAddress, precopyPass, ...s }: pb.SendArchiveRequest): d.SendArchive => ({
  ...s,
  ref: refFromProto(s.ref),
  compression: parseCompression(s.compression),
  ...(dataAddress ? { dataAddress } : {}),
  ...(precopyPass === "first" || precopyPass === "final" ? { precopyPass } : {}),
});

export const probePeerToProto = (p: d.ProbePeer): pb.ProbePeerRequest => ({ ...p });
export const probePeerFromProto = (p: pb.ProbePeerRequest): d.ProbePeer => ({ ...p, targetBackend: parseBackend(p.targetBackend) });

export const progressToProto = (p: d.TransferProgress): pb.SendArchiveResponse => ({ ...p });
export const progressFromProto = (p: pb.SendArchiveResponse): d.TransferProgress => ({ ...p });

/** An exec request stream in domain terms: one start (a "header", so splitHeader splits it off), then input. */
export type ExecMessage<S> = { kind: "header"; header: S } | d.ExecInput;

export const agentExecStartToProto = (r: d.ExecRequest): pb.ExecContainerRequest => ({
  kind: { $case: "start", value: { ref: refToProto(r.ref), argv: [...r.argv], env: [...r.env], options: execOptionsToProto(r.options) } },
});
export const agentExecInputToProto = (i: d.ExecInput): pb.ExecContainerRequest => ({ kind: { $case: "input", value: execInputToProto(i) } });
export function agentExecFromProto(r: pb.ExecContainerRequest): ExecMessage<d.ExecRequest> {
  switch (r.kind?.$case) {
    case "start": {
      const s = r.kind.value;
      return { kind: "header", header: { ref: refFromProto(s.ref), argv: s.argv, env: s.env, options: execOptionsFromProto(s.options) } };
    }
    case "input":
      return execInputFromProto(r.kind.value);
    default:
      throw invalidArgument("empty exec request message");
  }
}
