// Typed clients of the controller: ControllerService (used by the CLI) and RegistryService (agents).
import type { ChannelOptions } from "@grpc/grpc-js";
import * as pb from "../gen/corral/controller/v1/controller.js";
import type * as d from "../domain/types.js";
import { PLAIN_EXEC } from "../domain/types.js";
import { callUnary, duplexCall, readServerStream, writeClientStream } from "./adapters.js";
import { CHANNEL_OPTIONS, clientCredentials, HEARTBEAT_CHANNEL_OPTIONS, type ClientTls } from "./channel.js";
import { CONTROLLER_IDENTITY } from "./identity.js";
import { mapIter, noInput } from "./iter.js";
import { backendFromProto, copyInChunkToProto, execOutputFromProto, hostInfoToProto, imageChunkToProto, imageInfoFromProto, processFromProto, specToProto } from "../convert/types.js";
import {
  execInputMessageToProto,
  execStartToProto,
  networkViewFromProto,
  containerFromProto,
  explanationFromProto,
  hostFromProto,
  migrateOptionsToProto,
  migrationFromProto,
  migrationUpdateFromProto,
  eventFromProto,
  moveProgressFromProto,
  restoreProgressFromProto,
  setRequestToProto,
  tokenInfoFromProto,
  usageReportToProto,
} from "../convert/controller.js";
import type { IssuedToken, TokenInfo, TokenRole } from "../domain/tokens.js";
import type { CorralEvent, EventQuery } from "../domain/events.js";
import { bearerInterceptor } from "./bearer.js";

export interface ControllerClientOptions {
  /** Sent on every call as `authorization: Bearer <token>`. */
  token?: string | undefined;
}

export class ControllerClient {
  private readonly c: pb.ControllerServiceClient;
  readonly peer: string;

  /** TLS verifies the controller's certificate (and may present a client one); the token names the person. */
  constructor(
    readonly address: string,
    tls: ClientTls,
    opts: ControllerClientOptions = {},
  ) {
    const interceptors = opts.token ? [bearerInterceptor(opts.token)] : [];
    this.c = new pb.ControllerServiceClient(address, clientCredentials(tls, CONTROLLER_IDENTITY), { ...CHANNEL_OPTIONS, interceptors });
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
    const res: pb.CreateContainerResponse = await callUnary(this.peer, this.c.createContainer.bind(this.c), r);
    return containerFromProto(res.container);
  }
  /** Every host's verdict for this container, and the host that would be chosen; nothing changes. */
  async explainPlacement(req: Omit<d.CreateRequest, "start">): Promise<d.PlacementExplanation> {
    const r = { spec: specToProto(req.spec), host: req.host, ...placementToProto(req) };
    const res: pb.ExplainPlacementResponse = await callUnary(this.peer, this.c.explainPlacement.bind(this.c), r);
    return explanationFromProto(res);
  }
  async labelHost(host: string, set: Record<string, string>, remove: string[]): Promise<d.Host> {
    const res: pb.LabelHostResponse = await callUnary(this.peer, this.c.labelHost.bind(this.c), { host, set, remove });
    return hostFromProto(required(res.host));
  }
  async setHostOvercommit(host: string, ratio: number): Promise<d.Host> {
    const res: pb.SetHostOvercommitResponse = await callUnary(this.peer, this.c.setHostOvercommit.bind(this.c), { host, ratio });
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
    return mapIter(readServerStream<pb.DrainHostResponse>(this.peer, this.c.drainHost({ host, parallel, deadlineSeconds })), moveProgressFromProto);
  }
  restoreHost(host: string, parallel: number): AsyncGenerator<d.HostMoveProgress> {
    return mapIter(readServerStream<pb.RestoreHostResponse>(this.peer, this.c.restoreHost({ host, parallel })), restoreProgressFromProto);
  }
  async setClusterSetting(key: string, value: string): Promise<void> {
    await callUnary<pb.SetClusterSettingRequest, pb.SetClusterSettingResponse>(this.peer, this.c.setClusterSetting.bind(this.c), { key, value });
  }
  async list(host = ""): Promise<d.Container[]> {
    return (await this.listWithDrift(host)).containers;
  }
  /** The managed containers, and the ones hosts report that the controller does not manage there. */
  async listWithDrift(host = ""): Promise<d.ContainerList> {
    const res: pb.ListContainersResponse = await callUnary(this.peer, this.c.listContainers.bind(this.c), { host });
    return { containers: res.containers.map(containerFromProto), drift: res.drift.map(containerFromProto) };
  }
  async get(name: string): Promise<d.Container> {
    const res: pb.GetContainerResponse = await callUnary(this.peer, this.c.getContainer.bind(this.c), { name });
    return containerFromProto(res.container);
  }
  async start(name: string): Promise<d.Container> {
    const res: pb.StartContainerResponse = await callUnary(this.peer, this.c.startContainer.bind(this.c), { name });
    return containerFromProto(res.container);
  }
  async stop(name: string, timeoutSeconds: number): Promise<d.Container> {
    const res: pb.StopContainerResponse = await callUnary(this.peer, this.c.stopContainer.bind(this.c), { name, timeoutSeconds });
    return containerFromProto(res.container);
  }
  async remove(name: string, force: boolean): Promise<void> {
    await callUnary<pb.RemoveContainerRequest, pb.RemoveContainerResponse>(this.peer, this.c.removeContainer.bind(this.c), { name, force });
  }
  /**
   * Runs a command in a container. `input` (stdin bytes, EOF, terminal resizes) is sent as the
   * controller takes it; without it stdin is empty. The output ends with the exit code.
   */
  exec(
    name: string,
    argv: string[],
    env: string[] = [],
    io: { options?: d.ExecOptions; input?: AsyncIterable<d.ExecInput> } = {},
  ): AsyncGenerator<d.ExecOutput> {
    const start = execStartToProto({ name, argv, env, options: io.options ?? PLAIN_EXEC });
    const input = mapIter(io.input ?? noInput(), execInputMessageToProto);
    const responses = duplexCall<pb.ExecContainerRequest, pb.ExecContainerResponse>(this.peer, this.c.execContainer(), start, input);
    return mapIter(responses, (r) => execOutputFromProto(r.output));
  }
  /** Changes only the limits given; the controller keeps the others. */
  async setLimits(name: string, limits: d.LimitsPatch): Promise<d.Container> {
    const res: pb.SetLimitsResponse = await callUnary(this.peer, this.c.setLimits.bind(this.c), setRequestToProto(name, limits));
    return containerFromProto(res.container);
  }
  async listProcesses(name: string): Promise<d.ProcessInfo[]> {
    const res: pb.ListProcessesResponse = await callUnary(this.peer, this.c.listProcesses.bind(this.c), { name });
    return res.processes.map(processFromProto);
  }
  async findPidOwner(host: string, pid: number): Promise<d.PidOwner> {
    const res: pb.FindPidOwnerResponse = await callUnary(this.peer, this.c.findPidOwner.bind(this.c), { host, pid });
    return { container: res.container, host: res.host, backend: backendFromProto(res.backend), pid: res.pid };
  }
  migrate(name: string, targetHost: string, opts: d.Compression | Partial<d.MigrateOptions> = {}): AsyncGenerator<d.MigrationUpdate> {
    const o = typeof opts === "string" ? { compression: opts } : opts;
    const full: d.MigrateOptions = {
      compression: o.compression ?? "none",
      stopTimeoutSeconds: o.stopTimeoutSeconds,
      detach: o.detach ?? false,
      dryRun: o.dryRun ?? false,
      keepSource: o.keepSource ?? false,
      bwlimitBytesPerSecond: o.bwlimitBytesPerSecond ?? 0,
      precopy: o.precopy ?? false,
      ...(o.targetBackend ? { targetBackend: o.targetBackend } : {}),
    };
    const stream = this.c.migrateContainer(migrateOptionsToProto(name, targetHost, full));
    return mapIter(readServerStream<pb.MigrateContainerResponse>(this.peer, stream), (r) => migrationUpdateFromProto(r.update));
  }
  /** The migration's current state; with follow, then every update until it ends (rolled back: an aborted error). */
  watchMigration(id: string, follow: boolean): AsyncGenerator<d.MigrationUpdate> {
    const stream = this.c.watchMigration({ id, follow });
    return mapIter(readServerStream<pb.WatchMigrationResponse>(this.peer, stream), (r) => migrationUpdateFromProto(r.update));
  }
  async finishMigration(id: string): Promise<d.Migration> {
    const res: pb.FinishMigrationResponse = await callUnary(this.peer, this.c.finishMigration.bind(this.c), { id });
    return migrationFromProto(res.migration);
  }
  async listMigrations(container = ""): Promise<d.Migration[]> {
    const res: pb.ListMigrationsResponse = await callUnary(this.peer, this.c.listMigrations.bind(this.c), { container });
    return res.migrations.map(migrationFromProto);
  }
  async importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo[]> {
    const requests = mapIter(chunks, (c): pb.ImportImageRequest => ({ chunk: imageChunkToProto(c) }));
    const res: pb.ImportImageResponse = await writeClientStream(this.peer, (cb) => this.c.importImage(cb), requests);
    return res.images.map(imageInfoFromProto);
  }
  /** `ct cp` in: a header, then the tar bytes, sent with back-pressure. */
  async copyIn(chunks: AsyncIterable<d.CopyInChunk>): Promise<void> {
    const requests = mapIter(chunks, (c): pb.CopyToContainerRequest => ({ chunk: copyInChunkToProto(c) }));
    await writeClientStream<pb.CopyToContainerRequest, pb.CopyToContainerResponse>(this.peer, (cb) => this.c.copyToContainer(cb), requests);
  }
  /** `ct cp` out: the tar bytes of `path` in the container. */
  copyOut(name: string, path: string): AsyncGenerator<Buffer> {
    return mapIter(readServerStream<pb.CopyFromContainerResponse>(this.peer, this.c.copyFromContainer({ name, path })), (r) => r.data);
  }
  logs(name: string, opts: d.LogsOptions): AsyncGenerator<Buffer> {
    return mapIter(readServerStream<pb.ContainerLogsResponse>(this.peer, this.c.containerLogs({ name, ...opts })), (r) => r.data);
  }
  async listImages(): Promise<d.ImageInfo[]> {
    const res: pb.ListImagesResponse = await callUnary(this.peer, this.c.listImages.bind(this.c), {});
    return res.images.map(imageInfoFromProto);
  }
  async removeImage(name: string): Promise<d.ImageInfo[]> {
    const res: pb.RemoveImageResponse = await callUnary(this.peer, this.c.removeImage.bind(this.c), { name });
    return res.removed.map(imageInfoFromProto);
  }
  /** ttlSeconds 0: never expires. */
  async createToken(role: TokenRole, ttlSeconds = 0): Promise<IssuedToken> {
    const res: pb.CreateTokenResponse = await callUnary(this.peer, this.c.createToken.bind(this.c), { role, ttlSeconds });
    return { info: tokenInfoFromProto(res.info), token: res.token };
  }
  async listTokens(): Promise<TokenInfo[]> {
    const res: pb.ListTokensResponse = await callUnary(this.peer, this.c.listTokens.bind(this.c), {});
    return res.tokens.map(tokenInfoFromProto);
  }
  async revokeToken(id: string): Promise<TokenInfo> {
    const res: pb.RevokeTokenResponse = await callUnary(this.peer, this.c.revokeToken.bind(this.c), { id });
    return tokenInfoFromProto(res.info);
  }
  /** A replay of the controller's events, then (follow) live ones until the caller stops reading. */
  watchEvents(q: EventQuery): AsyncGenerator<CorralEvent> {
    const stream = this.c.watchEvents({ sinceSeq: q.sinceSeq, sinceUnixMs: q.sinceUnixMs, subjects: q.subjects, follow: q.follow });
    return mapIter(readServerStream<pb.WatchEventsResponse>(this.peer, stream), (r) => eventFromProto(r.event));
  }
  async showNetwork(): Promise<d.NetworkView> {
    const res: pb.ShowNetworkResponse = await callUnary(this.peer, this.c.showNetwork.bind(this.c), {});
    return networkViewFromProto(res);
  }
  async getVersion(): Promise<string> {
    const res: pb.GetVersionResponse = await callUnary(this.peer, this.c.getVersion.bind(this.c), {});
    return res.version;
  }
  async createJoinToken(ttlSeconds: number): Promise<d.JoinToken> {
    const res: pb.CreateJoinTokenResponse = await callUnary(this.peer, this.c.createJoinToken.bind(this.c), { ttlSeconds });
    return { token: res.token, expiresUnixMs: Number(res.expiresUnixMs) };
  }
  /** Returns the serial of the revoked certificate ("" when none was on record). */
  async removeHost(name: string): Promise<string> {
    const res: pb.RemoveHostResponse = await callUnary(this.peer, this.c.removeHost.bind(this.c), { name });
    return res.revokedSerial;
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

  /** Without cert/key in `tls` only join() can succeed. `options` adds channel options (the heartbeat bench). */
  constructor(readonly address: string, tls: ClientTls, options: ChannelOptions = {}) {
    this.c = new pb.RegistryServiceClient(address, clientCredentials(tls, CONTROLLER_IDENTITY), { ...HEARTBEAT_CHANNEL_OPTIONS, ...options });
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

  async join(req: d.JoinRequest): Promise<d.JoinResponse> {
    const res: pb.JoinResponse = await callUnary(this.peer, this.c.join.bind(this.c), req);
    return { certPem: res.certPem, caPem: res.caPem };
  }
}
