// Typed clients of the controller: ControllerService (used by the CLI) and RegistryService (agents).
import * as pb from "../gen/corral/controller/v1/controller.js";
import type * as d from "../domain/types.js";
import { callUnary, readServerStream, writeClientStream } from "./adapters.js";
import { CHANNEL_OPTIONS, insecureCredentials } from "./channel.js";
import { mapIter } from "./iter.js";
import { execOutputFromProto, hostInfoToProto, imageChunkToProto, imageInfoFromProto, specToProto } from "../convert/types.js";
import { containerFromProto, hostFromProto, migrateOptionsToProto, migrationFromProto, migrationUpdateFromProto, setRequestToProto, tokenInfoFromProto, usageReportToProto } from "../convert/controller.js";
import type { IssuedToken, TokenInfo, TokenRole } from "../domain/tokens.js";
import { bearerInterceptor } from "./bearer.js";

export interface ControllerClientOptions {
  /** Sent on every call as `authorization: Bearer <token>`. */
  token?: string | undefined;
}

export class ControllerClient {
  private readonly c: pb.ControllerServiceClient;
  readonly peer: string;

  constructor(
    readonly address: string,
    opts: ControllerClientOptions = {},
  ) {
    const interceptors = opts.token ? [bearerInterceptor(opts.token)] : [];
    this.c = new pb.ControllerServiceClient(address, insecureCredentials(), { ...CHANNEL_OPTIONS, interceptors });
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
    const r = { spec: specToProto(req.spec), host: req.host, start: req.start };
    const res: pb.CreateContainerResponse = await callUnary(this.peer, this.c.createContainer.bind(this.c), r);
    return containerFromProto(res.container);
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
  exec(name: string, argv: string[], env: string[] = []): AsyncGenerator<d.ExecOutput> {
    const stream = this.c.execContainer({ name, argv, env });
    return mapIter(readServerStream<pb.ExecContainerResponse>(this.peer, stream), (r) => execOutputFromProto(r.output));
  }
  /** Changes only the limits given; the controller keeps the others. */
  async setLimits(name: string, limits: d.LimitsPatch): Promise<d.Container> {
    const res: pb.SetLimitsResponse = await callUnary(this.peer, this.c.setLimits.bind(this.c), setRequestToProto(name, limits));
    return containerFromProto(res.container);
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
}

export class RegistryClient {
  private readonly c: pb.RegistryServiceClient;
  readonly peer: string;

  constructor(readonly address: string) {
    this.c = new pb.RegistryServiceClient(address, insecureCredentials(), CHANNEL_OPTIONS);
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
