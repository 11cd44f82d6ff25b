// Adapts domain-typed implementations to the generated ControllerService and RegistryService.
import * as pb from "../gen/corral/controller/v1/controller.js";
import type * as d from "../domain/types.js";
import { clientStreamHandler, serverStreamHandler, unaryHandler } from "./adapters.js";
import { mapIter } from "./iter.js";
import { execOutputToProto, hostInfoFromProto, imageChunkFromProto, imageInfoToProto, specFromProto } from "../convert/types.js";
import { containerToProto, hostToProto, limitsPatchFromProto, migrateOptionsFromProto, migrationToProto, migrationUpdateToProto, tokenInfoToProto, usageReportFromProto } from "../convert/controller.js";
import { parseRole, type IssuedToken, type TokenInfo, type TokenRole } from "../domain/tokens.js";

export interface ControllerHandlers {
  listHosts(): Promise<d.Host[]>;
  create(req: d.CreateRequest): Promise<d.Container>;
  list(host: string): Promise<d.ContainerList>;
  get(name: string): Promise<d.Container>;
  start(name: string): Promise<d.Container>;
  stop(name: string, timeoutSeconds: number): Promise<d.Container>;
  remove(name: string, force: boolean): Promise<void>;
  exec(name: string, argv: string[], env: string[], signal: AbortSignal): AsyncIterable<d.ExecOutput>;
  setLimits(name: string, limits: d.LimitsPatch): Promise<d.Container>;
  migrate(name: string, targetHost: string, opts: d.MigrateOptions, signal: AbortSignal): AsyncIterable<d.MigrationUpdate>;
  listMigrations(container: string): Promise<d.Migration[]>;
  /** The current state; with follow, then every update until the migration ends. */
  watchMigration(id: string, follow: boolean, signal: AbortSignal): AsyncIterable<d.MigrationUpdate>;
  finishMigration(id: string): Promise<d.Migration>;
  importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo[]>;
  /** ttlSeconds 0: never expires. */
  createToken(role: TokenRole, ttlSeconds: number): Promise<IssuedToken>;
  listTokens(): Promise<TokenInfo[]>;
  revokeToken(id: string): Promise<TokenInfo>;
}

export interface RegistryHandlers {
  /** Returns the report interval in milliseconds. */
  register(host: d.HostInfo, peerAddress: string): Promise<number>;
  reportUsage(reports: AsyncIterable<d.UsageReport>): Promise<void>;
}

export const ControllerServiceDefinition = pb.ControllerServiceService;
export const RegistryServiceDefinition = pb.RegistryServiceService;

export function controllerServiceImplementation(h: ControllerHandlers): pb.ControllerServiceServer {
  return {
    listHosts: unaryHandler(async () => ({ hosts: (await h.listHosts()).map(hostToProto) })),
    createContainer: unaryHandler(async (r: pb.CreateContainerRequest) => ({
      container: containerToProto(await h.create({ spec: specFromProto(r.spec), host: r.host, start: r.start })),
    })),
    listContainers: unaryHandler(async (r: pb.ListContainersRequest) => {
      const l = await h.list(r.host);
      return { containers: l.containers.map(containerToProto), drift: l.drift.map(containerToProto) };
    }),
    getContainer: unaryHandler(async (r: pb.GetContainerRequest) => ({ container: containerToProto(await h.get(r.name)) })),
    startContainer: unaryHandler(async (r: pb.StartContainerRequest) => ({ container: containerToProto(await h.start(r.name)) })),
    stopContainer: unaryHandler(async (r: pb.StopContainerRequest) => ({
      container: containerToProto(await h.stop(r.name, r.timeoutSeconds)),
    })),
    removeContainer: unaryHandler(async (r: pb.RemoveContainerRequest) => {
      await h.remove(r.name, r.force);
      return {};
    }),
    execContainer: serverStreamHandler((r: pb.ExecContainerRequest, signal) =>
      mapIter(h.exec(r.name, r.argv, r.env, signal), (o): pb.ExecContainerResponse => ({ output: execOutputToProto(o) })),
    ),
    setLimits: unaryHandler(async (r: pb.SetLimitsRequest) => ({
      container: containerToProto(await h.setLimits(r.name, limitsPatchFromProto(r))),
    })),
    migrateContainer: serverStreamHandler((r: pb.MigrateContainerRequest, signal) =>
      mapIter(h.migrate(r.name, r.targetHost, migrateOptionsFromProto(r), signal), (u): pb.MigrateContainerResponse => ({
        update: migrationUpdateToProto(u),
      })),
    ),
    watchMigration: serverStreamHandler((r: pb.WatchMigrationRequest, signal) =>
      mapIter(h.watchMigration(r.id, r.follow, signal), (u): pb.WatchMigrationResponse => ({ update: migrationUpdateToProto(u) })),
    ),
    finishMigration: unaryHandler(async (r: pb.FinishMigrationRequest) => ({ migration: migrationToProto(await h.finishMigration(r.id)) })),
    listMigrations: unaryHandler(async (r: pb.ListMigrationsRequest) => ({
      migrations: (await h.listMigrations(r.container)).map(migrationToProto),
    })),
    importImage: clientStreamHandler(async (requests: AsyncIterable<pb.ImportImageRequest>) => ({
      images: (await h.importImage(mapIter(requests, (r) => imageChunkFromProto(r.chunk)))).map(imageInfoToProto),
    })),
    createToken: unaryHandler(async (r: pb.CreateTokenRequest) => {
      const issued = await h.createToken(parseRole(r.role), r.ttlSeconds);
      return { info: tokenInfoToProto(issued.info), token: issued.token };
    }),
    listTokens: unaryHandler(async () => ({ tokens: (await h.listTokens()).map(tokenInfoToProto) })),
    revokeToken: unaryHandler(async (r: pb.RevokeTokenRequest) => ({ info: tokenInfoToProto(await h.revokeToken(r.id)) })),
  };
}

export function registryServiceImplementation(h: RegistryHandlers): pb.RegistryServiceServer {
  return {
    register: (call, callback) => {
      h.register(hostInfoFromProto(call.request.host), call.getPeer()).then(
        (reportIntervalMs) => callback(null, { reportIntervalMs }),
        (err: unknown) => unaryHandler(() => Promise.reject(err))(call, callback),
      );
    },
    reportUsage: clientStreamHandler(async (reports: AsyncIterable<pb.ReportUsageRequest>) => {
      await h.reportUsage(mapIter(reports, usageReportFromProto));
      return {};
    }),
  };
}
