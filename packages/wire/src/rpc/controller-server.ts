// Adapts domain-typed implementations to the generated ControllerService and RegistryService.
import type * as tpb from "../gen/corral/v1/types.js";
import * as pb from "../gen/corral/v1/controller.js";
import type * as d from "../domain/types.js";
import { clientStreamHandler, serverStreamHandler, unaryHandler } from "./adapters.js";
import { mapIter } from "./iter.js";
import { execOutputToProto, hostInfoFromProto, imageChunkFromProto, imageInfoToProto, limitsFromProto, specFromProto } from "../convert/types.js";
import {
  containerToProto,
  explanationToProto,
  hostToProto,
  migrationToProto,
  migrationUpdateToProto,
  moveProgressToProto,
  restoreProgressToProto,
  usageReportFromProto,
} from "../convert/controller.js";
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
  explainPlacement(req: Omit<d.CreateRequest, "start">): Promise<d.PlacementExplanation>;
  labelHost(host: string, set: Record<string, string>, remove: string[]): Promise<d.Host>;
  cordonHost(host: string): Promise<d.Host>;
  uncordonHost(host: string): Promise<d.Host>;
  drainHost(host: string, parallel: number, deadlineSeconds: number, signal: AbortSignal): AsyncIterable<d.HostMoveProgress>;
  restoreHost(host: string, parallel: number, signal: AbortSignal): AsyncIterable<d.HostMoveProgress>;
  setClusterSetting(key: string, value: string): Promise<void>;
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
    createContainer: unaryHandler(async (r: pb.CreateRequest) =>
      containerToProto(await h.create({ ...placementFromProto(r), spec: specFromProto(r.spec), host: r.host, start: r.start })),
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
    explainPlacement: unaryHandler(async (r: pb.ExplainPlacementRequest) =>
      explanationToProto(await h.explainPlacement({ ...placementFromProto(r), spec: specFromProto(r.spec), host: r.host })),
    ),
    labelHost: unaryHandler(async (r: pb.LabelHostRequest) => ({ host: hostToProto(await h.labelHost(r.host, r.set, r.remove)) })),
    cordonHost: unaryHandler(async (r: pb.CordonHostRequest) => ({ host: hostToProto(await h.cordonHost(r.host)) })),
    uncordonHost: unaryHandler(async (r: pb.UncordonHostRequest) => ({ host: hostToProto(await h.uncordonHost(r.host)) })),
    drainHost: serverStreamHandler((r: pb.DrainHostRequest, signal) =>
      mapIter(h.drainHost(r.host, r.parallel, r.deadlineSeconds, signal), moveProgressToProto),
    ),
    restoreHost: serverStreamHandler((r: pb.RestoreHostRequest, signal) =>
      mapIter(h.restoreHost(r.host, r.parallel, signal), restoreProgressToProto),
    ),
    setClusterSetting: unaryHandler(async (r: pb.SetClusterSettingRequest) => {
      await h.setClusterSetting(r.key, r.value);
      return {};
    }),
  };
}

const placementFromProto = (r: { constraints: string[]; antiAffinity: string; strategy: string }): d.PlacementOptions => ({
  constraints: r.constraints,
  antiAffinity: r.antiAffinity,
  strategy: r.strategy,
});

export function registryServiceImplementation(h: RegistryHandlers): pb.RegistryServiceServer {
  return {
    register: (call, callback) => {
      h.register(hostInfoFromProto(call.request.host), call.getPeer()).then(
        (reportIntervalMs) => callback(null, { reportIntervalMs }),
        (err: unknown) => unaryHandler(() => Promise.reject(err))(call, callback),
      );
    },
    reportUsage: clientStreamHandler(async (reports: AsyncIterable<pb.UsageReport>) => {
      await h.reportUsage(mapIter(reports, usageReportFromProto));
      return {};
    }),
  };
}
