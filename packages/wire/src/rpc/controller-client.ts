// Typed clients of the controller: ControllerService (used by the CLI) and RegistryService (agents).
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import * as pb from "../gen/corral/v1/controller.js";
import type * as d from "../domain/types.js";
import { callUnary, readServerStream, writeClientStream } from "./adapters.js";
import { CHANNEL_OPTIONS, insecureCredentials } from "./channel.js";
import { mapIter } from "./iter.js";
import { execOutputFromProto, hostInfoToProto, imageChunkToProto, imageInfoFromProto, limitsToProto, specToProto } from "../convert/types.js";
import {
  containerFromProto,
  explanationFromProto,
  hostFromProto,
  migrationFromProto,
  migrationUpdateFromProto,
  moveProgressFromProto,
  restoreProgressFromProto,
  usageReportToProto,
} from "../convert/controller.js";

export class ControllerClient {
  private readonly c: pb.ControllerServiceClient;
  readonly peer: string;

  constructor(readonly address: string) {
    this.c = new pb.ControllerServiceClient(address, insecureCredentials(), CHANNEL_OPTIONS);
    this.peer = `controller at ${address}`;
  }

  close(): void {
    this.c.close();
  }

  async listHosts(): Promise<d.Host[]> {
    const res: pb.ListHostsResponse = await callUnary(this.peer, this.c.listHosts.bind(this.c), {});
    return res.hosts.map(hostFromProto);
  }
  async create(req: d.CreateRequest): Promise<d.Container> {
    const r = { spec: specToProto(req.spec), host: req.host, start: req.start, ...placementToProto(req) };
    return containerFromProto(await callUnary(this.peer, this.c.createContainer.bind(this.c), r));
  }
  /** Every host's verdict for this container, and the host that would be chosen; nothing changes. */
  async explainPlacement(req: Omit<d.CreateRequest, "start">): Promise<d.PlacementExplanation> {
    const r = { spec: specToProto(req.spec), host: req.host, ...placementToProto(req) };
    return explanationFromProto(await callUnary(this.peer, this.c.explainPlacement.bind(this.c), r));
  }
  async labelHost(host: string, set: Record<string, string>, remove: string[]): Promise<d.Host> {
    const res: pb.LabelHostResponse = await callUnary(this.peer, this.c.labelHost.bind(this.c), { host, set, remove });
    return hostFromProto(required(res.host));
  }
  async cordonHost(host: string): Promise<d.Host> {
    const res: pb.CordonHostResponse = await callUnary(this.peer, this.c.cordonHost.bind(this.c), { host });
    return hostFromProto(required(res.host));
  }
  async uncordonHost(host: string): Promise<d.Host> {
    const res: pb.UncordonHostResponse = await callUnary(this.peer, this.c.uncordonHost.bind(this.c), { host });
    return hostFromProto(required(res.host));
  }
  drainHost(host: string, parallel: number, deadlineSeconds: number): AsyncGenerator<d.HostMoveProgress> {
    return mapIter(readServerStream(this.peer, this.c.drainHost({ host, parallel, deadlineSeconds })), moveProgressFromProto);
  }
  restoreHost(host: string, parallel: number): AsyncGenerator<d.HostMoveProgress> {
    return mapIter(readServerStream(this.peer, this.c.restoreHost({ host, parallel })), restoreProgressFromProto);
  }
  async setClusterSetting(key: string, value: string): Promise<void> {
    await callUnary(this.peer, this.c.setClusterSetting.bind(this.c), { key, value });
  }
  async list(host = ""): Promise<d.Container[]> {
    const res: pb.ListResponse = await callUnary(this.peer, this.c.listContainers.bind(this.c), { host });
    return res.containers.map(containerFromProto);
  }
  async get(name: string): Promise<d.Container> {
    return containerFromProto(await callUnary(this.peer, this.c.getContainer.bind(this.c), { name }));
  }
  async start(name: string): Promise<d.Container> {
    return containerFromProto(await callUnary(this.peer, this.c.startContainer.bind(this.c), { name }));
  }
  async stop(name: string, timeoutSeconds: number): Promise<d.Container> {
    return containerFromProto(await callUnary(this.peer, this.c.stopContainer.bind(this.c), { name, timeoutSeconds }));
  }
  async remove(name: string, force: boolean): Promise<void> {
    await callUnary(this.peer, this.c.removeContainer.bind(this.c), { name, force });
  }
  exec(name: string, argv: string[], env: string[] = []): AsyncGenerator<d.ExecOutput> {
    return mapIter(readServerStream(this.peer, this.c.exec({ name, argv, env })), execOutputFromProto);
  }
  async setLimits(name: string, limits: d.Limits): Promise<d.Container> {
    const r = { name, limits: limitsToProto(limits) };
    return containerFromProto(await callUnary(this.peer, this.c.setLimits.bind(this.c), r));
  }
  migrate(name: string, targetHost: string, compression: d.Compression): AsyncGenerator<d.MigrationUpdate> {
    const stream = this.c.migrate({ name, targetHost, compression });
    return mapIter(readServerStream(this.peer, stream), migrationUpdateFromProto);
  }
  async listMigrations(container = ""): Promise<d.Migration[]> {
    const res: pb.ListMigrationsResponse = await callUnary(this.peer, this.c.listMigrations.bind(this.c), { container });
    return res.migrations.map(migrationFromProto);
  }
  async importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo[]> {
    const res: pb.ImportImageResponse = await writeClientStream(this.peer, (cb) => this.c.importImage(cb), mapIter(chunks, imageChunkToProto));
    return res.images.map(imageInfoFromProto);
  }
}

const placementToProto = (o: d.PlacementOptions) => ({
  constraints: o.constraints ?? [],
  antiAffinity: o.antiAffinity ?? "",
  strategy: o.strategy ?? "",
});

function required<T>(v: T | undefined): T {
  if (v === undefined) throw new TypeError("host missing from the controller's answer");
  return v;
}

export class RegistryClient {
  private readonly c: pb.RegistryServiceClient;
  readonly peer: string;

  /** `channel` lets a caller choose the credentials and channel options (default: as every agent uses). */
  constructor(
    readonly address: string,
    channel: { credentials?: ChannelCredentials; options?: ChannelOptions } = {},
  ) {
    this.c = new pb.RegistryServiceClient(address, channel.credentials ?? insecureCredentials(), {
      ...CHANNEL_OPTIONS,
      ...channel.options,
    });
    this.peer = `controller at ${address}`;
  }

  close(): void {
    this.c.close();
  }

  /** Returns the report interval the controller wants. */
  async register(host: d.HostInfo): Promise<number> {
    const res: pb.RegisterResponse = await callUnary(this.peer, this.c.register.bind(this.c), { host: hostInfoToProto(host) });
    return res.reportIntervalMs;
  }

  /** One long-lived stream; resolves when the controller ends it, rejects when the link breaks. */
  async reportUsage(reports: AsyncIterable<d.UsageReport>): Promise<void> {
    await writeClientStream(this.peer, (cb) => this.c.reportUsage(cb), mapIter(reports, usageReportToProto));
  }
}
