// The one interface every runtime implements. Optional features live in the small interfaces
// below; the capabilities a host reports are derived from which of them a backend has
// (capabilitiesOf), so no list of strings can drift from the methods.
import type { Readable } from "node:stream";
import type {
  AddressInUse,
  BackendName,
  ContainerSpec,
  ConversionPlan,
  ContainerStatus,
  ContainerUsage,
  ExecOutput,
  ExitInfo,
  ImageInfo,
  Limits,
  LogsOptions,
  RestoreGrants,
} from "@corral/wire";
import type { TarOut } from "../archive/tar-stream.js";
import type { CopyTarget } from "../files/container-copy.js";
import { failedPrecondition, invalidArgument } from "@corral/wire";
import type { Logger } from "pino";
import type { HostNetwork } from "../network/host-network.js";
import type { ExecIo } from "../process/exec-io.js";

export type { ExecIo } from "../process/exec-io.js";

export interface BackendContext {
  /** This host's name: part of fixed cgroup paths and of runtime object names. */
  hostName: string;
  /** The agent's own state directory; each backend may use `<stateDir>/<backend>/`. */
  stateDir: string;
  log: Logger;
  /** The cluster network on this host: the bridge, the gateway, the addresses of containers restored here. */
  network?: HostNetwork;
}

/** The host network of a backend that was given a container address; absent only in tests that give none. */
export function requireNetwork(ctx: BackendContext): HostNetwork {
  if (!ctx.network) throw failedPrecondition(`the agent of ${ctx.hostName} runs without a container network`);
  return ctx.network;
}

export interface ProbeResult {
  available: boolean;
  /** Why the backend cannot run here, e.g. "dockerd socket /var/run/docker.sock not found". */
  reason: string;
}

export type Capability = "exec" | "live-limits" | "image-import" | "usage" | "migrate" | "precopy";

/** A container's state as a stream of bytes, ready to send to another host. */
export interface ArchiveOut {
  /** Backend-defined format tag the target checks, e.g. "lxc-dir-tar/1". */
  format: string;
  /** Estimated archive size for progress (tree size before archiving). */
  estimatedBytes: number;
  stream: Readable;
  /** Settles when the producer (tar, API export) has finished; rejects if it failed. */
  finished: Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** The one archive format archive() produces and stageRestore() accepts, e.g. "lxc-dir-tar/1". */
  readonly archiveFormat: string;
  /** Called once at agent start by the registry. */
  probe(): Promise<ProbeResult>;
  create(spec: ContainerSpec): Promise<ContainerStatus>;
  /** The status returned may carry initPid 0 where finding it is costly; inspect() reports it. */
  start(name: string): Promise<ContainerStatus>;
  /** Clean stop, killed after `timeoutSeconds`. Stopping a stopped container is not an error. */
  stop(name: string, timeoutSeconds: number): Promise<ContainerStatus>;
  remove(name: string): Promise<void>;
  /** Throws CorralError "not_found" for an unknown container. */
  inspect(name: string): Promise<ContainerStatus>;
  list(): Promise<ContainerStatus[]>;
  /**
   * Runs argv in the running container: streams stdout/stderr and ends with the exit code. `io`
   * brings the caller's stdin (absent: empty), a terminal, and whether argv is the login shell.
   */
  exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput>;
  /**
   * ct cp in: `tar` is untrusted and holds one top-level member, target.sourceName; it lands by
   * docker cp's rule (files/container-copy.ts `landing`), owners kept. Checked like any archive.
   */
  copyIn(name: string, target: CopyTarget, tar: Readable): Promise<void>;
  /** ct cp out: a tar of one path in the container, named by its last component. */
  copyOut(name: string, path: string): Promise<TarOut>;
  /** ct logs: the runtime's log of the container (Docker's logs, a console log). */
  logs(name: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer>;
  /** Usage of every container of this backend. Must be cheap: read files, spawn nothing. */
  usage(): Promise<ContainerUsage[]>;
  /** Archive a stopped container. */
  archive(name: string): Promise<ArchiveOut>;
  /**
   * Restore, step 1: consume an archive (already checked for path escapes by the caller when it is a
   * tar stream) into `stagingDir`, which the caller created and removes on failure. `grants` (the
   * controller's word) says whether the archive's config may hold --privileged's or --nesting's settings.
   */
  stageRestore(name: string, format: string, input: Readable, stagingDir: string, grants?: RestoreGrants): Promise<void>;
  /** Restore, step 2: make the staged container real under `name` (rename, rewrite config). Stopped. */
  commitRestore(name: string, stagingDir: string, grants?: RestoreGrants): Promise<ContainerStatus>;
  /** Where staging directories go: on the same filesystem as the backend's containers, so rename works. */
  stagingRoot(): string;
}

/** Optional: change limits on a running container, persisted in the runtime's own config. */
export interface LiveLimits {
  setLimits(name: string, limits: Limits): Promise<ContainerStatus>;
}

/** Optional: how a container last ended or failed to start, with the runtime's error and log tail. */
export interface ExitReasons {
  lastExit(name: string): Promise<ExitInfo | undefined>;
}

/** Optional: turn a rootfs tarball into an image this backend can create containers from. */
export interface ImageImport {
  importImage(name: string, tarball: Readable): Promise<ImageInfo>;
}

/**
 * Optional: the cgroup that holds a container's processes (relative to the hierarchy root), for
 * `ct top` and `host pid`; undefined when the container is not running. A backend without it is
 * found through its init's group (inspect's initPid), which serves Docker and LXD.
 */
export interface ProcessGroups {
  processGroup(name: string): Promise<string | undefined>;
}

export const hasProcessGroups = (b: Backend): b is Backend & ProcessGroups =>
  typeof (b as Partial<ProcessGroups>).processGroup === "function";
/** Optional: list and remove the images this backend holds on this host. */
export interface ImageStore {
  listImages(): Promise<ImageInfo[]>;
  /** Throws not_found for an image this host does not hold. */
  removeImage(name: string): Promise<void>;
}

export const hasImageStore = (b: Backend): b is Backend & ImageStore =>
  typeof (b as Partial<ImageStore>).listImages === "function" && typeof (b as Partial<ImageStore>).removeImage === "function";

/**
 * Optional: restores archives of other backends too, converting them on the way (ct migrate
 * --backend): stageRestore takes each of these formats besides the backend's own.
 */
export interface ConvertingRestore {
  readonly convertsFrom: readonly string[];
}

/** Optional: says what of a container's own settings would carry over to another backend, and what not. */
export interface ConversionSource {
  planConversion(name: string, target: BackendName): Promise<ConversionPlan>;
}

/**
 * Optional: the IPv4 addresses this backend's containers hold in the runtime's own config, beside
 * the pool addresses the controller gives out (OpenVZ's IP_ADDRESS, what vzlist -a -o ip lists).
 */
export interface AddressHolder {
  addressesInUse(): Promise<AddressInUse[]>;
}

export const hasAddressHolder = (b: Backend): b is Backend & AddressHolder => typeof (b as Partial<AddressHolder>).addressesInUse === "function";

export const hasConversionSource = (b: Backend): b is Backend & ConversionSource =>
  typeof (b as Partial<ConversionSource>).planConversion === "function";
const convertsFrom = (b: Backend): readonly string[] => (b as Partial<ConvertingRestore>).convertsFrom ?? [];

export const hasLiveLimits = (b: Backend): b is Backend & LiveLimits =>
  typeof (b as Partial<LiveLimits>).setLimits === "function";
export const hasExitReasons = (b: Backend): b is Backend & ExitReasons =>
  typeof (b as Partial<ExitReasons>).lastExit === "function";
export const hasImageImport = (b: Backend): b is Backend & ImageImport =>
  typeof (b as Partial<ImageImport>).importImage === "function";

/**
 * Optional: pre-copy (ct migrate --precopy). The source syncs one directory tree (the rootfs) with
 * rsync while the container runs and once more when it is stopped, then archives the rest; the
 * target stages from that archive and the synced tree (transfer/tree-sync.ts moves the tree).
 */
export interface PreCopy {
  /** Source: the directory the passes sync. */
  precopyTree(name: string): Promise<string>;
  /** Source, stopped: the archive of the container without that tree. */
  archiveRest(name: string): Promise<ArchiveOut>;
  /**
   * Target: extracts the rest archive into the empty `stagingDir`, which must not carry the tree
   * itself, then, once `treeReady` resolves (the final pass is over), checks the synced `tree` (no
   * device nodes, no xattrs but user.* and ACLs, setid files within the id map) and moves it into
   * the staged container.
   */
  stageRest(name: string, format: string, input: Readable, stagingDir: string, tree: string, grants?: RestoreGrants, treeReady?: Promise<void>): Promise<void>;
}

export const hasPreCopy = (b: Backend): b is Backend & PreCopy =>
  typeof (b as Partial<PreCopy>).precopyTree === "function" && typeof (b as Partial<PreCopy>).stageRest === "function";

/**
 * What a host reports for a backend, derived from the interfaces it implements. exec, usage and
 * migrate are part of every backend; the rest come from the optional interfaces above. The strings
 * are the wire's: the controller refuses `ct set` without "live-limits" and a migration to a
 * backend without "migrate".
 */
export function capabilitiesOf(b: Backend): Capability[] {
  const caps: Capability[] = ["exec"];
  if (hasLiveLimits(b)) caps.push("live-limits");
  if (hasImageImport(b)) caps.push("image-import");
  caps.push("usage", "migrate");
  if (hasPreCopy(b)) caps.push("precopy");
  return caps;
}

/**
 * The one check of an incoming archive's format, made by the receiver before stageRestore (and
 * by anyone else who hands a backend an archive): a foreign format is refused with one message
 * for every backend, and nothing is written.
 */
export function assertArchiveFormat(b: Backend, format: string): void {
  if (format !== b.archiveFormat && !convertsFrom(b).includes(format)) {
    throw invalidArgument(`${b.name} cannot restore archive format "${format}": expected ${[b.archiveFormat, ...convertsFrom(b)].join(" or ")}`);
  }
}
