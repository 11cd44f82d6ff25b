// Typed clients of the controller: ControllerService (used by the CLI) and RegistryService (agents).
import * as pb from "../gen/corral/v1/controller.js";
import type * as d from "../domain/types.js";
import { callUnary, readServerStream, writeClientStream } from "./adapters.js";
import { CHANNEL_OPTIONS, clientCredentials, type ClientTls } from "./channel.js";
import { CONTROLLER_IDENTITY } from "./identity.js";
import { mapIter } from "./iter.js";
import { execOutputFromProto, hostInfoToProto, imageChunkToProto, imageInfoFromProto, limitsToProto, specToProto } from "../convert/types.js";
import { containerFromProto, hostFromProto, migrationFromProto, migrationUpdateFromProto, usageReportToProto } from "../convert/controller.js";

export class ControllerClient {
  private readonly c: pb.ControllerServiceClient;
  readonly peer: string;

  constructor(readonly address: string, tls: ClientTls) {
    this.c = new pb.ControllerServiceClient(address, clientCredentials(tls, CONTROLLER_IDENTITY), CHANNEL_OPTIONS);
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
    return containerFromProto(await callUnary(this.peer, this.c.createContainer.bind(this.c), r));
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

export class RegistryClient {
  private readonly c: pb.RegistryServiceClient;
  readonly peer: string;

  /** Without cert/key in `tls` only join() can succeed. */
  constructor(readonly address: string, tls: ClientTls) {
    this.c = new pb.RegistryServiceClient(address, clientCredentials(tls, CONTROLLER_IDENTITY), CHANNEL_OPTIONS);
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
