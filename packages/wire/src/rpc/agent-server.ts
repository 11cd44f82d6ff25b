// Adapts a domain-typed implementation to the generated AgentService server interface.
import * as pb from "../gen/corral/agent/v1/agent.js";
import type * as d from "../domain/types.js";
import { authorizeEach, bidiStreamHandler, clientStreamHandler, notServed, serverStreamHandler, unaryHandler } from "./adapters.js";
import { requireIdentity, type Peer } from "./identity.js";
import { mapIter, splitExec } from "./iter.js";
import {
  backendFromProto,
  conversionPlanToProto,
  copyInChunkFromProto,
  execOutputToProto,
  hostInfoToProto,
  imageChunkFromProto,
  imageInfoToProto,
  limitsFromProto,
  processToProto,
  refFromProto,
  specFromProto,
  statusToProto,
} from "../convert/types.js";
import { agentExecFromProto, archiveChunkFromProto, networkConfigFromProto, prepareReceiveFromProto, probePeerFromProto, progressToProto, sendArchiveFromProto } from "../convert/agent.js";

export interface AgentHandlers {
  hostInfo(): Promise<d.HostInfo>;
  create(spec: d.ContainerSpec): Promise<d.ContainerStatus>;
  start(ref: d.ContainerRef): Promise<d.ContainerStatus>;
  stop(ref: d.ContainerRef, timeoutSeconds: number): Promise<d.ContainerStatus>;
  remove(ref: d.ContainerRef): Promise<void>;
  inspect(ref: d.ContainerRef): Promise<d.ContainerStatus>;
  list(backend: string): Promise<d.ContainerStatus[]>;
  /** `input`: what the caller sends after the start (stdin, EOF, resizes), pulled as the command takes it. */
  exec(req: d.ExecRequest, input: AsyncIterable<d.ExecInput>, signal: AbortSignal): AsyncIterable<d.ExecOutput>;
  setLimits(ref: d.ContainerRef, limits: d.Limits): Promise<d.ContainerStatus>;
  importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo>;
  copyIn(chunks: AsyncIterable<d.CopyInChunk>): Promise<void>;
  copyOut(ref: d.ContainerRef, path: string, signal: AbortSignal): AsyncIterable<Buffer>;
  logs(ref: d.ContainerRef, opts: d.LogsOptions, signal: AbortSignal): AsyncIterable<Buffer>;
  listProcesses(ref: d.ContainerRef): Promise<d.ProcessInfo[]>;
  /** The container of this host that owns host PID `pid`, or undefined when none does. */
  findPidOwner(pid: number): Promise<{ container: string; backend: d.BackendName; pid: number } | undefined>;
  /** Optional so that test doubles need not serve them; an agent without them answers "unimplemented". */
  listImages?(): Promise<d.ImageInfo[]>;
  removeImage?(name: string, backend: string): Promise<void>;
  /** Applies the cluster network; returns the bridge's name. */
  configureNetwork(n: d.HostNetworkConfig): Promise<string>;
  prepareReceive(p: d.PrepareReceive): Promise<void>;
  /** `peerHost` is the verified host identity of the sending agent. */
  receiveArchive(chunks: AsyncIterable<d.ArchiveChunk>, peerHost: string): Promise<d.TransferTrailer>;
  commitReceive(token: string): Promise<d.ContainerStatus>;
  abortReceive(token: string, ref: d.ContainerRef | undefined): Promise<d.AbortReceiveResult>;
  sendArchive(req: d.SendArchive, signal: AbortSignal): AsyncIterable<d.TransferProgress>;
  /** Optional as listImages is: an agent without it answers "unimplemented". */
  planConversion?(ref: d.ContainerRef, targetBackend: d.BackendName): Promise<d.ConversionPlan>;
  /** Optional as listImages is: an agent without it answers "unimplemented". */
  probePeer?(p: d.ProbePeer): Promise<d.PeerProbeResult>;
  addressesInUse?(): Promise<d.AddressInUse[]>;
}


export const AgentServiceDefinition = pb.AgentServiceService;

/**
 * Who may call an agent: the archive stream comes from a peer host (the receiver then checks that it
 * is the host named in the migration, with its token); every other call is control, for the
 * controller's certificate only.
 */
export function agentAccess(peer: Peer, method: string): void {
  if (method === "receiveArchive") requireIdentity(peer, "an archive transfer", ["host"]);
  else requireIdentity(peer, `this agent's ${method} call`, ["controller"]);
}

export function agentServiceImplementation(h: AgentHandlers): pb.AgentServiceServer {
  return authorizeEach(agentService(h), AgentServiceDefinition, agentAccess);
}

function agentService(h: AgentHandlers): pb.AgentServiceServer {
  return {
    getHostInfo: unaryHandler(async () => ({ host: hostInfoToProto(await h.hostInfo()) })),
    createContainer: unaryHandler(async (r: pb.CreateContainerRequest) => ({ status: statusToProto(await h.create(specFromProto(r.spec))) })),
    startContainer: unaryHandler(async (r: pb.StartContainerRequest) => ({ status: statusToProto(await h.start(refFromProto(r.ref))) })),
    stopContainer: unaryHandler(async (r: pb.StopContainerRequest) => ({
      status: statusToProto(await h.stop(refFromProto(r.ref), r.timeoutSeconds)),
    })),
    removeContainer: unaryHandler(async (r: pb.RemoveContainerRequest) => {
      await h.remove(refFromProto(r.ref));
      return {};
    }),
    inspectContainer: unaryHandler(async (r: pb.InspectContainerRequest) => ({ status: statusToProto(await h.inspect(refFromProto(r.ref))) })),
    listContainers: unaryHandler(async (r: pb.ListContainersRequest) => ({
      containers: (await h.list(r.backend)).map(statusToProto),
    })),
    execContainer: bidiStreamHandler((reqs: AsyncIterable<pb.ExecContainerRequest>, signal) =>
      mapIter(execOf(h, reqs, signal), (o): pb.ExecContainerResponse => ({ output: execOutputToProto(o) })),
    ),
    setLimits: unaryHandler(async (r: pb.SetLimitsRequest) => ({
      status: statusToProto(await h.setLimits(refFromProto(r.ref), limitsFromProto(r.limits))),
    })),
    listProcesses: unaryHandler(async (r: pb.ListProcessesRequest) => ({
      processes: (await h.listProcesses(refFromProto(r.ref))).map(processToProto),
    })),
    findPidOwner: unaryHandler(async (r: pb.FindPidOwnerRequest) => {
      const o = await h.findPidOwner(r.pid);
      return o ? { container: o.container, backend: o.backend, pid: o.pid } : { container: "", backend: "", pid: 0 };
    }),
    importImage: clientStreamHandler(async (requests: AsyncIterable<pb.ImportImageRequest>) => ({
      image: imageInfoToProto(await h.importImage(mapIter(requests, (r) => imageChunkFromProto(r.chunk)))),
    })),
    copyIn: clientStreamHandler(async (requests: AsyncIterable<pb.CopyInRequest>) => {
      await h.copyIn(mapIter(requests, (r) => copyInChunkFromProto(r.chunk)));
      return {};
    }),
    copyOut: serverStreamHandler((r: pb.CopyOutRequest, signal) =>
      mapIter(h.copyOut(refFromProto(r.ref), r.path, signal), (data): pb.CopyOutResponse => ({ data })),
    ),
    containerLogs: serverStreamHandler((r: pb.ContainerLogsRequest, signal) =>
      mapIter(h.logs(refFromProto(r.ref), { follow: r.follow, tail: r.tail }, signal), (data): pb.ContainerLogsResponse => ({ data })),
    ),
    listImages: unaryHandler(async () => ({ images: (await (h.listImages ?? notServed("ListImages"))()).map(imageInfoToProto) })),
    removeImage: unaryHandler(async (r: pb.RemoveImageRequest) => {
      await (h.removeImage ?? notServed("RemoveImage"))(r.name, r.backend);
      return {};
    }),
    configureNetwork: unaryHandler(async (r: pb.ConfigureNetworkRequest) => ({ bridge: await h.configureNetwork(networkConfigFromProto(r)) })),
    planConversion: unaryHandler(async (r: pb.PlanConversionRequest) => ({
      plan: conversionPlanToProto(await (h.planConversion ?? notServed("PlanConversion"))(refFromProto(r.ref), backendFromProto(r.targetBackend))),
    })),
    probePeer: unaryHandler(async (r: pb.ProbePeerRequest): Promise<pb.ProbePeerResponse> => (h.probePeer ?? notServed("ProbePeer"))(probePeerFromProto(r))),
    listAddressesInUse: unaryHandler(async (): Promise<pb.ListAddressesInUseResponse> => ({
      addresses: (await (h.addressesInUse ?? notServed("ListAddressesInUse"))()).map((a) => ({ address: a.address, holder: a.holder, container: a.container ?? "" })),
    })),
    prepareReceive: unaryHandler(async (r: pb.PrepareReceiveRequest) => {
      await h.prepareReceive(prepareReceiveFromProto(r));
      return {};
    }),
    receiveArchive: clientStreamHandler(async (chunks: AsyncIterable<pb.ReceiveArchiveRequest>, peer) =>
      h.receiveArchive(mapIter(chunks, archiveChunkFromProto), requireIdentity(peer, "an archive transfer", ["host"]).name),
    ),
    commitReceive: unaryHandler(async (r: pb.CommitReceiveRequest) => ({ status: statusToProto(await h.commitReceive(r.token)) })),
    abortReceive: unaryHandler(async (r: pb.AbortReceiveRequest) =>
      h.abortReceive(r.token, r.ref ? refFromProto(r.ref) : undefined),
    ),
    sendArchive: serverStreamHandler((r: pb.SendArchiveRequest, signal) =>
      mapIter(h.sendArchive(sendArchiveFromProto(r), signal), progressToProto),
    ),
  };
}

async function* execOf(h: AgentHandlers, reqs: AsyncIterable<pb.ExecContainerRequest>, signal: AbortSignal): AsyncGenerator<d.ExecOutput> {
  const { start, input } = await splitExec(mapIter(reqs, agentExecFromProto));
  yield* h.exec(start, input, signal);
}
