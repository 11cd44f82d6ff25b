// Typed client of an agent's gRPC service, in domain types.
import * as pb from "../gen/corral/agent/v1/agent.js";
import type * as d from "../domain/types.js";
import { callUnary, duplexCall, readServerStream, writeClientStream } from "./adapters.js";
import { mapIter, noInput } from "./iter.js";
import { CHANNEL_OPTIONS, clientCredentials, type ClientTls, type ExpectedServer } from "./channel.js";
import {
  copyInChunkToProto,
  backendFromProto,
  conversionPlanFromProto,
  execOutputFromProto,
  hostInfoFromProto,
  imageChunkToProto,
  imageInfoFromProto,
  limitsToProto,
  processFromProto,
  refToProto,
  specToProto,
  statusFromProto,
} from "../convert/types.js";
import { agentExecInputToProto, agentExecStartToProto, archiveChunkToProto, networkConfigToProto, prepareReceiveToProto, probePeerToProto, progressFromProto, sendArchiveToProto } from "../convert/agent.js";


export class AgentClient {
  private readonly c: pb.AgentServiceClient;
  readonly peer: string;

  /** `expect`: the host this address must prove to be (its certificate is checked, not the address). */
  constructor(readonly address: string, tls: ClientTls, expect: ExpectedServer, peerName = `agent at ${address}`) {
    this.c = new pb.AgentServiceClient(address, clientCredentials(tls, expect), CHANNEL_OPTIONS);
    this.peer = peerName;
  }

  close(): void {
    this.c.close();
  }

  async hostInfo(): Promise<d.HostInfo> {
    const res: pb.GetHostInfoResponse = await callUnary(this.peer, this.c.getHostInfo.bind(this.c), {});
    return hostInfoFromProto(res.host);
  }
  async create(spec: d.ContainerSpec): Promise<d.ContainerStatus> {
    const res: pb.CreateContainerResponse = await callUnary(this.peer, this.c.createContainer.bind(this.c), { spec: specToProto(spec) });
    return statusFromProto(res.status);
  }
  async start(ref: d.ContainerRef): Promise<d.ContainerStatus> {
    const res: pb.StartContainerResponse = await callUnary(this.peer, this.c.startContainer.bind(this.c), { ref: refToProto(ref) });
    return statusFromProto(res.status);
  }
  async stop(ref: d.ContainerRef, timeoutSeconds: number): Promise<d.ContainerStatus> {
    const req = { ref: refToProto(ref), timeoutSeconds };
    const res: pb.StopContainerResponse = await callUnary(this.peer, this.c.stopContainer.bind(this.c), req);
    return statusFromProto(res.status);
  }
  async remove(ref: d.ContainerRef): Promise<void> {
    await callUnary<pb.RemoveContainerRequest, pb.RemoveContainerResponse>(this.peer, this.c.removeContainer.bind(this.c), { ref: refToProto(ref) });
  }
  async inspect(ref: d.ContainerRef): Promise<d.ContainerStatus> {
    const res: pb.InspectContainerResponse = await callUnary(this.peer, this.c.inspectContainer.bind(this.c), { ref: refToProto(ref) });
    return statusFromProto(res.status);
  }
  async list(backend = ""): Promise<d.ContainerStatus[]> {
    const res: pb.ListContainersResponse = await callUnary(this.peer, this.c.listContainers.bind(this.c), { backend });
    return res.containers.map(statusFromProto);
  }
  /** Runs a command; `input` (stdin, EOF, resizes) is sent as the agent takes it. No input: stdin is empty. */
  exec(req: d.ExecRequest, input: AsyncIterable<d.ExecInput> = noInput(), signal?: AbortSignal): AsyncGenerator<d.ExecOutput> {
    const call = this.c.execContainer();
    const start = agentExecStartToProto(req);
    const responses = duplexCall<pb.ExecContainerRequest, pb.ExecContainerResponse>(this.peer, call, start, mapIter(input, agentExecInputToProto), signal);
    return mapIter(responses, (r) => execOutputFromProto(r.output));
  }
  async setLimits(ref: d.ContainerRef, limits: d.Limits): Promise<d.ContainerStatus> {
    const req = { ref: refToProto(ref), limits: limitsToProto(limits) };
    const res: pb.SetLimitsResponse = await callUnary(this.peer, this.c.setLimits.bind(this.c), req);
    return statusFromProto(res.status);
  }
  async listProcesses(ref: d.ContainerRef): Promise<d.ProcessInfo[]> {
    const res: pb.ListProcessesResponse = await callUnary(this.peer, this.c.listProcesses.bind(this.c), { ref: refToProto(ref) });
    return res.processes.map(processFromProto);
  }
  /** The container of this host that owns host PID `pid`, or undefined when none does. */
  async findPidOwner(pid: number): Promise<{ container: string; backend: d.BackendName; pid: number } | undefined> {
    const res: pb.FindPidOwnerResponse = await callUnary(this.peer, this.c.findPidOwner.bind(this.c), { pid });
    return res.container ? { container: res.container, backend: backendFromProto(res.backend), pid: res.pid } : undefined;
  }
  async importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo> {
    const requests = mapIter(chunks, (c): pb.ImportImageRequest => ({ chunk: imageChunkToProto(c) }));
    const res: pb.ImportImageResponse = await writeClientStream(this.peer, (cb) => this.c.importImage(cb), requests);
    return imageInfoFromProto(res.image);
  }
  async copyIn(chunks: AsyncIterable<d.CopyInChunk>): Promise<void> {
    const requests = mapIter(chunks, (c): pb.CopyInRequest => ({ chunk: copyInChunkToProto(c) }));
    await writeClientStream<pb.CopyInRequest, pb.CopyInResponse>(this.peer, (cb) => this.c.copyIn(cb), requests);
  }
  copyOut(ref: d.ContainerRef, path: string): AsyncGenerator<Buffer> {
    const stream = this.c.copyOut({ ref: refToProto(ref), path });
    return mapIter(readServerStream<pb.CopyOutResponse>(this.peer, stream), (r) => r.data);
  }
  logs(ref: d.ContainerRef, opts: d.LogsOptions): AsyncGenerator<Buffer> {
    const stream = this.c.containerLogs({ ref: refToProto(ref), ...opts });
    return mapIter(readServerStream<pb.ContainerLogsResponse>(this.peer, stream), (r) => r.data);
  }
  async listImages(): Promise<d.ImageInfo[]> {
    const res: pb.ListImagesResponse = await callUnary(this.peer, this.c.listImages.bind(this.c), {});
    return res.images.map(imageInfoFromProto);
  }
  async removeImage(name: string, backend: d.BackendName): Promise<void> {
    await callUnary<pb.RemoveImageRequest, pb.RemoveImageResponse>(this.peer, this.c.removeImage.bind(this.c), { name, backend });
  }
  /** Returns the bridge's name on the host. */
  async configureNetwork(n: d.HostNetworkConfig): Promise<string> {
    const res: pb.ConfigureNetworkResponse = await callUnary(this.peer, this.c.configureNetwork.bind(this.c), networkConfigToProto(n));
    return res.bridge;
  }
  async prepareReceive(p: d.PrepareReceive): Promise<void> {
    await callUnary<pb.PrepareReceiveRequest, pb.PrepareReceiveResponse>(this.peer, this.c.prepareReceive.bind(this.c), prepareReceiveToProto(p));
  }
  async receiveArchive(chunks: AsyncIterable<d.ArchiveChunk>): Promise<d.TransferTrailer> {
    const res: pb.ReceiveArchiveResponse = await writeClientStream(this.peer, (cb) => this.c.receiveArchive(cb), mapIter(chunks, archiveChunkToProto));
    return { sha256: res.sha256, bytes: res.bytes };
  }
  async commitReceive(token: string): Promise<d.ContainerStatus> {
    const res: pb.CommitReceiveResponse = await callUnary(this.peer, this.c.commitReceive.bind(this.c), { token });
    return statusFromProto(res.status);
  }
  async abortReceive(token: string, ref: d.ContainerRef | undefined): Promise<d.AbortReceiveResult> {
    const req = { token, ref: ref ? refToProto(ref) : undefined };
    return await callUnary<pb.AbortReceiveRequest, pb.AbortReceiveResponse>(this.peer, this.c.abortReceive.bind(this.c), req);
  }
  /** What of `ref`'s settings would carry over to `targetBackend`, and what not. */
  async planConversion(ref: d.ContainerRef, targetBackend: d.BackendName): Promise<d.ConversionPlan> {
    const res: pb.PlanConversionResponse = await callUnary(this.peer, this.c.planConversion.bind(this.c), { ref: refToProto(ref), targetBackend });
    if (!res.plan) throw new TypeError("conversion plan missing");
    return conversionPlanFromProto(res.plan);
  }
  /** The source dials the target's data listener as a transfer would, and says what it answered. */
  async probePeer(p: d.ProbePeer): Promise<d.PeerProbeResult> {
    const res: pb.ProbePeerResponse = await callUnary(this.peer, this.c.probePeer.bind(this.c), probePeerToProto(p));
    return { stagingFreeBytes: res.stagingFreeBytes, roundTripMs: res.roundTripMs };
  }
  /** IPv4 addresses this host's containers hold in their runtime's own config. */
  async addressesInUse(): Promise<d.AddressInUse[]> {
    const res: pb.ListAddressesInUseResponse = await callUnary(this.peer, this.c.listAddressesInUse.bind(this.c), {});
    return res.addresses.map((a) => ({ address: a.address, holder: a.holder, ...(a.container ? { container: a.container } : {}) }));
  }
  sendArchive(req: d.SendArchive): AsyncGenerator<d.TransferProgress> {
    const stream = this.c.sendArchive(sendArchiveToProto(req));
    return mapIter(readServerStream<pb.SendArchiveResponse>(this.peer, stream), progressFromProto);
  }
}
