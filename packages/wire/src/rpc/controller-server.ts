// Adapts domain-typed implementations to the generated ControllerService and RegistryService.
import * as pb from "../gen/corral/controller/v1/controller.js";
import type * as d from "../domain/types.js";
import { authorizeEach, bidiStreamHandler, clientStreamHandler, notServed, serverStreamHandler, unaryHandler } from "./adapters.js";
import { requireIdentity, type Peer } from "./identity.js";
import { mapIter, splitExec } from "./iter.js";
import { copyInChunkFromProto, execOutputToProto, hostInfoFromProto, imageChunkFromProto, imageInfoToProto, processToProto, specFromProto } from "../convert/types.js";
import { carryReceipt, stampingReceipt } from "./received-at.js";
import {
  execMessageFromProto,
  containerToProto,
  explanationToProto,
  hostToProto,
  limitsPatchFromProto,
  migrateOptionsFromProto,
  migrationToProto,
  migrationUpdateToProto,
  eventToProto,
  moveProgressToProto,
  restoreProgressToProto,
  tokenInfoToProto,
  usageReportFromProto,
  networkViewToProto,
} from "../convert/controller.js";
import { parseRole, type IssuedToken, type TokenInfo, type TokenRole } from "../domain/tokens.js";
import type { CorralEvent, EventQuery } from "../domain/events.js";

export interface ControllerHandlers {
  listHosts(): Promise<d.Host[]>;
  create(req: d.CreateRequest): Promise<d.Container>;
  list(host: string): Promise<d.ContainerList>;
  get(name: string): Promise<d.Container>;
  start(name: string): Promise<d.Container>;
  stop(name: string, timeoutSeconds: number): Promise<d.Container>;
  remove(name: string, force: boolean): Promise<void>;
  /** `input`: what the caller sends after the start (stdin, EOF, resizes), pulled as the command takes it. */
  exec(req: d.ExecStart, input: AsyncIterable<d.ExecInput>, signal: AbortSignal): AsyncIterable<d.ExecOutput>;
  setLimits(name: string, limits: d.LimitsPatch): Promise<d.Container>;
  listProcesses(name: string): Promise<d.ProcessInfo[]>;
  /** Fails with not_found when no container of `host` owns host PID `pid`. */
  findPidOwner(host: string, pid: number): Promise<d.PidOwner>;
  migrate(name: string, targetHost: string, opts: d.MigrateOptions, signal: AbortSignal): AsyncIterable<d.MigrationUpdate>;
  listMigrations(container: string): Promise<d.Migration[]>;
  /** The current state; with follow, then every update until the migration ends. */
  watchMigration(id: string, follow: boolean, signal: AbortSignal): AsyncIterable<d.MigrationUpdate>;
  finishMigration(id: string): Promise<d.Migration>;
  importImage(chunks: AsyncIterable<d.ImageChunk>): Promise<d.ImageInfo[]>;
  copyIn(chunks: AsyncIterable<d.CopyInChunk>): Promise<void>;
  copyOut(name: string, path: string, signal: AbortSignal): AsyncIterable<Buffer>;
  logs(name: string, opts: d.LogsOptions, signal: AbortSignal): AsyncIterable<Buffer>;
  /** Optional so that test doubles need not serve them; a controller without them answers "unimplemented". */
  listImages?(): Promise<d.ImageInfo[]>;
  removeImage?(name: string): Promise<d.ImageInfo[]>;
  /** ttlSeconds 0: never expires. */
  createToken(role: TokenRole, ttlSeconds: number): Promise<IssuedToken>;
  listTokens(): Promise<TokenInfo[]>;
  revokeToken(id: string): Promise<TokenInfo>;
  explainPlacement(req: Omit<d.CreateRequest, "start">): Promise<d.PlacementExplanation>;
  labelHost(host: string, set: Record<string, string>, remove: string[]): Promise<d.Host>;
  setHostOvercommit(host: string, ratio: number): Promise<d.Host>;
  cordonHost(host: string): Promise<d.Host>;
  uncordonHost(host: string): Promise<d.Host>;
  drainHost(host: string, parallel: number, deadlineSeconds: number, signal: AbortSignal): AsyncIterable<d.HostMoveProgress>;
  restoreHost(host: string, parallel: number, signal: AbortSignal): AsyncIterable<d.HostMoveProgress>;
  setClusterSetting(key: string, value: string): Promise<void>;
  createJoinToken(ttlSeconds: number): Promise<d.JoinToken>;
  /** Returns the serial of the certificate revoked ("" when none was on record). */
  removeHost(name: string): Promise<string>;
  getVersion(): Promise<string>;
  showNetwork(): Promise<d.NetworkView>;
  watchEvents(q: EventQuery, signal: AbortSignal): AsyncIterable<CorralEvent>;
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
// Usage reports are stamped as they are decoded, so that the controller can time report → state.
export const RegistryServiceDefinition: typeof pb.RegistryServiceService = {
  ...pb.RegistryServiceService,
  reportUsage: {
    ...pb.RegistryServiceService.reportUsage,
    requestDeserialize: stampingReceipt(pb.RegistryServiceService.reportUsage.requestDeserialize),
  },
};

export function controllerServiceImplementation(h: ControllerHandlers, authorize: Authorize): pb.ControllerServiceServer {
  return authorizeEach(controllerService(h), ControllerServiceDefinition, authorize);
}

function controllerService(h: ControllerHandlers): pb.ControllerServiceServer {
  return {
    listHosts: unaryHandler(async () => ({ hosts: (await h.listHosts()).map(hostToProto) })),
    createContainer: unaryHandler(async (r: pb.CreateContainerRequest) => ({
      container: containerToProto(await h.create({ ...placementFromProto(r), spec: specFromProto(r.spec), host: r.host, start: r.start })),
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
    execContainer: bidiStreamHandler((reqs: AsyncIterable<pb.ExecContainerRequest>, signal) =>
      mapIter(execOf(h, reqs, signal), (o): pb.ExecContainerResponse => ({ output: execOutputToProto(o) })),
    ),
    setLimits: unaryHandler(async (r: pb.SetLimitsRequest) => ({
      container: containerToProto(await h.setLimits(r.name, limitsPatchFromProto(r))),
    })),
    listProcesses: unaryHandler(async (r: pb.ListProcessesRequest) => ({ processes: (await h.listProcesses(r.name)).map(processToProto) })),
    findPidOwner: unaryHandler(async (r: pb.FindPidOwnerRequest) => ({ ...(await h.findPidOwner(r.host, r.pid)) })),
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
    copyToContainer: clientStreamHandler(async (requests: AsyncIterable<pb.CopyToContainerRequest>) => {
      await h.copyIn(mapIter(requests, (r) => copyInChunkFromProto(r.chunk)));
      return {};
    }),
    copyFromContainer: serverStreamHandler((r: pb.CopyFromContainerRequest, signal) =>
      mapIter(h.copyOut(r.name, r.path, signal), (data): pb.CopyFromContainerResponse => ({ data })),
    ),
    containerLogs: serverStreamHandler((r: pb.ContainerLogsRequest, signal) =>
      mapIter(h.logs(r.name, { follow: r.follow, tail: r.tail }, signal), (data): pb.ContainerLogsResponse => ({ data })),
    ),
    listImages: unaryHandler(async () => ({ images: (await (h.listImages ?? notServed("ListImages"))()).map(imageInfoToProto) })),
    removeImage: unaryHandler(async (r: pb.RemoveImageRequest) => ({
      removed: (await (h.removeImage ?? notServed("RemoveImage"))(r.name)).map(imageInfoToProto),
    })),
    createToken: unaryHandler(async (r: pb.CreateTokenRequest) => {
      const issued = await h.createToken(parseRole(r.role), r.ttlSeconds);
      return { info: tokenInfoToProto(issued.info), token: issued.token };
    }),
    listTokens: unaryHandler(async () => ({ tokens: (await h.listTokens()).map(tokenInfoToProto) })),
    revokeToken: unaryHandler(async (r: pb.RevokeTokenRequest) => ({ info: tokenInfoToProto(await h.revokeToken(r.id)) })),
    explainPlacement: unaryHandler(async (r: pb.ExplainPlacementRequest) =>
      explanationToProto(await h.explainPlacement({ ...placementFromProto(r), spec: specFromProto(r.spec), host: r.host })),
    ),
    labelHost: unaryHandler(async (r: pb.LabelHostRequest) => ({ host: hostToProto(await h.labelHost(r.host, r.set, r.remove)) })),
    setHostOvercommit: unaryHandler(async (r: pb.SetHostOvercommitRequest) => ({ host: hostToProto(await h.setHostOvercommit(r.host, r.ratio)) })),
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
    createJoinToken: unaryHandler(async (r: pb.CreateJoinTokenRequest) => h.createJoinToken(r.ttlSeconds)),
    removeHost: unaryHandler(async (r: pb.RemoveHostRequest) => ({ revokedSerial: await h.removeHost(r.name) })),
    getVersion: unaryHandler(async () => ({ version: await h.getVersion() })),
    showNetwork: unaryHandler(async () => networkViewToProto(await h.showNetwork())),
    watchEvents: serverStreamHandler((r: pb.WatchEventsRequest, signal) =>
      mapIter(h.watchEvents({ sinceSeq: r.sinceSeq, sinceUnixMs: r.sinceUnixMs, subjects: r.subjects, follow: r.follow }, signal), (e): pb.WatchEventsResponse => ({
        event: eventToProto(e),
      })),
    ),
  };
}

async function* execOf(h: ControllerHandlers, reqs: AsyncIterable<pb.ExecContainerRequest>, signal: AbortSignal): AsyncGenerator<d.ExecOutput> {
  const { start, input } = await splitExec(mapIter(reqs, execMessageFromProto));
  yield* h.exec(start, input, signal);
}

const placementFromProto = (r: { constraints: string[]; antiAffinity: string; strategy: string }): d.PlacementOptions => ({
  constraints: r.constraints,
  antiAffinity: r.antiAffinity,
  strategy: r.strategy,
});

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
      reportUsage: clientStreamHandler(async (reports: AsyncIterable<pb.ReportUsageRequest>, peer) => {
        await h.reportUsage(mapIter(reports, (r) => carryReceipt(r, usageReportFromProto(r))), hostOf(peer, "usage reporting"));
        return {};
      }),
      join: unaryHandler(async (r: pb.JoinRequest) => h.join({ token: r.token, host: r.host, csrPem: r.csrPem })),
    },
    RegistryServiceDefinition,
    authorize,
  );
}
