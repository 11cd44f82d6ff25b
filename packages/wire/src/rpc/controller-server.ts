// Adapts domain-typed implementations to the generated ControllerService and RegistryService.
import type * as tpb from "../gen/corral/v1/types.js";
import * as pb from "../gen/corral/v1/controller.js";
import type * as d from "../domain/types.js";
import { authorizeEach, clientStreamHandler, serverStreamHandler, unaryHandler } from "./adapters.js";
import { requireIdentity, type Peer } from "./identity.js";
import { mapIter } from "./iter.js";
import { execOutputToProto, hostInfoFromProto, imageChunkFromProto, imageInfoToProto, limitsFromProto, specFromProto } from "../convert/types.js";
import { containerToProto, hostToProto, migrationToProto, migrationUpdateToProto, usageReportFromProto } from "../convert/controller.js";
import { parseCompression } from "../domain/validate.js";

export interface ControllerHandlers {
  listHosts(): Promise<d.Host[]>;
  create(req: d.CreateRequest): Promise<d.Container>;
  list(host: string): Promise<d.Container[]>;
  get(name: string): Promise<d.Container>;
  start(name: string): Promise<d.Container>;
  stop(name: string, timeoutSeconds: number): Promise<d.Container>;
  remove(name: string, force: boolean): Promise<void>;
  exec(name: string, argv: string[], env: string[], signal: AbortSignal): AsyncIterable<d.ExecOutput>;
  setLimits(name: string, limits: d.Limits): Promise<d.Container>;
  migrate(name: string, targetHost: string, compression: d.Compression, signal: AbortSignal): AsyncIterable<d.MigrationUpdate>;
  listMigrations(container: string): Promise<d.Migration[]>;
  importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo[]>;
  createJoinToken(ttlSeconds: number): Promise<d.JoinToken>;
  /** Returns the serial of the certificate revoked ("" when none was on record). */
  removeHost(name: string): Promise<string>;
}

/** Decides whether `peer` may call `method` of ControllerService; throws to refuse. */
export type Authorize = (peer: Peer, method: string) => void;

export interface RegistryHandlers {
  /** Returns the report interval in milliseconds. `host` is the verified identity of the caller. */
  register(info: d.HostInfo, peerAddress: string, host: string): Promise<number>;
  reportUsage(reports: AsyncIterable<d.UsageReport>, host: string): Promise<void>;
  join(req: d.JoinRequest): Promise<d.JoinResponse>;
}

export const ControllerServiceDefinition = pb.ControllerServiceService;
export const RegistryServiceDefinition = pb.RegistryServiceService;

export function controllerServiceImplementation(h: ControllerHandlers, authorize: Authorize): pb.ControllerServiceServer {
  return authorizeEach(controllerService(h), ControllerServiceDefinition, authorize);
}

function controllerService(h: ControllerHandlers): pb.ControllerServiceServer {
  return {
    listHosts: unaryHandler(async () => ({ hosts: (await h.listHosts()).map(hostToProto) })),
    createContainer: unaryHandler(async (r: pb.CreateRequest) =>
      containerToProto(await h.create({ spec: specFromProto(r.spec), host: r.host, start: r.start })),
    ),
    listContainers: unaryHandler(async (r: pb.ListRequest) => ({ containers: (await h.list(r.host)).map(containerToProto) })),
    getContainer: unaryHandler(async (r: pb.NameRequest) => containerToProto(await h.get(r.name))),
    startContainer: unaryHandler(async (r: pb.NameRequest) => containerToProto(await h.start(r.name))),
    stopContainer: unaryHandler(async (r: pb.StopRequest) => containerToProto(await h.stop(r.name, r.timeoutSeconds))),
    removeContainer: unaryHandler(async (r: pb.RemoveRequest) => {
      await h.remove(r.name, r.force);
      return {};
    }),
    exec: serverStreamHandler((r: pb.ExecRequest, signal) => mapIter(h.exec(r.name, r.argv, r.env, signal), execOutputToProto)),
    setLimits: unaryHandler(async (r: pb.SetRequest) => containerToProto(await h.setLimits(r.name, limitsFromProto(r.limits)))),
    migrate: serverStreamHandler((r: pb.MigrateRequest, signal) =>
      mapIter(h.migrate(r.name, r.targetHost, parseCompression(r.compression), signal), migrationUpdateToProto),
    ),
    listMigrations: unaryHandler(async (r: pb.ListMigrationsRequest) => ({
      migrations: (await h.listMigrations(r.container)).map(migrationToProto),
    })),
    importImage: clientStreamHandler(async (chunks: AsyncIterable<tpb.ImageChunk>) => ({
      images: (await h.importImage(mapIter(chunks, imageChunkFromProto))).map(imageInfoToProto),
    })),
    createJoinToken: unaryHandler(async (r: pb.CreateJoinTokenRequest) => h.createJoinToken(r.ttlSeconds)),
    removeHost: unaryHandler(async (r: pb.RemoveHostRequest) => ({ revokedSerial: await h.removeHost(r.name) })),
  };
}

/**
 * Registration and usage only from a host certificate (the handlers check that it names the host
 * in the request); Join from anyone, since a joining host has no certificate yet.
 */
export function registryServiceImplementation(h: RegistryHandlers, authorize: Authorize): pb.RegistryServiceServer {
  const hostOf = (peer: Peer, what: string) => requireIdentity(peer, what, ["host"]).name;
  return authorizeEach<pb.RegistryServiceServer>(
    {
      register: unaryHandler(async (r: pb.RegisterRequest, peer) => ({
        reportIntervalMs: await h.register(hostInfoFromProto(r.host), peer.address, hostOf(peer, "registration")),
      })),
      reportUsage: clientStreamHandler(async (reports: AsyncIterable<pb.UsageReport>, peer) => {
        await h.reportUsage(mapIter(reports, usageReportFromProto), hostOf(peer, "usage reporting"));
        return {};
      }),
      join: unaryHandler(async (r: pb.JoinRequest) => h.join({ token: r.token, host: r.host, csrPem: r.csrPem })),
    },
    RegistryServiceDefinition,
    authorize,
  );
}
