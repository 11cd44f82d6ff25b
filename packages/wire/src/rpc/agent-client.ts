// Typed client of an agent's gRPC service, in domain types.
import * as pb from "../gen/corral/v1/agent.js";
import type * as tpb from "../gen/corral/v1/types.js";
import type * as d from "../domain/types.js";
import { callUnary, readServerStream, writeClientStream } from "./adapters.js";
import { mapIter } from "./iter.js";
import { CHANNEL_OPTIONS, clientCredentials, type ClientTls, type ExpectedServer } from "./channel.js";
import {
  execOutputFromProto,
  hostInfoFromProto,
  imageChunkToProto,
  imageInfoFromProto,
  limitsToProto,
  refToProto,
  specToProto,
  statusFromProto,
} from "../convert/types.js";
import { archiveChunkToProto, prepareReceiveToProto, progressFromProto, sendArchiveToProto } from "../convert/agent.js";


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
    return hostInfoFromProto(await callUnary(this.peer, this.c.getHostInfo.bind(this.c), {}));
  }
  async create(spec: d.ContainerSpec): Promise<d.ContainerStatus> {
    return statusFromProto(await callUnary(this.peer, this.c.createContainer.bind(this.c), { spec: specToProto(spec) }));
  }
  async start(ref: d.ContainerRef): Promise<d.ContainerStatus> {
    return statusFromProto(await callUnary(this.peer, this.c.startContainer.bind(this.c), refToProto(ref)));
  }
  async stop(ref: d.ContainerRef, timeoutSeconds: number): Promise<d.ContainerStatus> {
    const req = { ref: refToProto(ref), timeoutSeconds };
    return statusFromProto(await callUnary(this.peer, this.c.stopContainer.bind(this.c), req));
  }
  async delete(ref: d.ContainerRef): Promise<void> {
    await callUnary(this.peer, this.c.deleteContainer.bind(this.c), refToProto(ref));
  }
  async inspect(ref: d.ContainerRef): Promise<d.ContainerStatus> {
    return statusFromProto(await callUnary(this.peer, this.c.inspectContainer.bind(this.c), refToProto(ref)));
  }
  async list(backend = ""): Promise<d.ContainerStatus[]> {
    const res: pb.ListContainersResponse = await callUnary(this.peer, this.c.listContainers.bind(this.c), { backend });
    return res.containers.map(statusFromProto);
  }
  exec(req: d.ExecRequest): AsyncGenerator<d.ExecOutput> {
    const stream = this.c.execContainer({ ref: refToProto(req.ref), argv: req.argv, env: req.env });
    return mapIter(readServerStream(this.peer, stream), execOutputFromProto);
  }
  async setLimits(ref: d.ContainerRef, limits: d.Limits): Promise<d.ContainerStatus> {
    const req = { ref: refToProto(ref), limits: limitsToProto(limits) };
    return statusFromProto(await callUnary(this.peer, this.c.setLimits.bind(this.c), req));
  }
  async importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo> {
    const res: tpb.ImageInfo = await writeClientStream(this.peer, (cb) => this.c.importImage(cb), mapIter(chunks, imageChunkToProto));
    return imageInfoFromProto(res);
  }
  async prepareReceive(p: d.PrepareReceive): Promise<void> {
    await callUnary(this.peer, this.c.prepareReceive.bind(this.c), prepareReceiveToProto(p));
  }
  async receiveArchive(chunks: AsyncIterable<d.ArchiveChunk>): Promise<d.TransferTrailer> {
    const res: pb.ReceiveArchiveResponse = await writeClientStream(this.peer, (cb) => this.c.receiveArchive(cb), mapIter(chunks, archiveChunkToProto));
    return { sha256: res.sha256, bytes: res.bytes };
  }
  async commitReceive(token: string): Promise<d.ContainerStatus> {
    return statusFromProto(await callUnary(this.peer, this.c.commitReceive.bind(this.c), { token }));
  }
  async abortReceive(token: string, ref: d.ContainerRef | undefined): Promise<d.AbortReceiveResult> {
    const req = { token, ref: ref ? refToProto(ref) : undefined };
    return await callUnary<pb.AbortReceiveRequest, pb.AbortReceiveResponse>(this.peer, this.c.abortReceive.bind(this.c), req);
  }
  sendArchive(req: d.SendArchive): AsyncGenerator<d.TransferProgress> {
    const stream = this.c.sendArchive(sendArchiveToProto(req));
    return mapIter(readServerStream(this.peer, stream), progressFromProto);
  }
}
