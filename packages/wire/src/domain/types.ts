// Hand-written domain types shared by the agent, the controller and the CLI.
// They never import generated protobuf code; convert/ maps between the two.

export type BackendName = "lxc" | "docker" | "lxd" | "openvz";
export const BACKEND_NAMES: readonly BackendName[] = ["lxc", "docker", "lxd", "openvz"];

export type Compression = "none" | "zstd";

/**
 * Zero means "no limit", for each field alone: at create the resource is left unlimited, and a live
 * set of 0 lifts the limit (a runtime that cannot lift one, Docker 20.10, refuses with invalid_argument).
 */
export interface Limits {
  memoryBytes: number;
  cpus: number;
  // The limits below came later: absent is 0 (the runtime's default), so stored specs and old
  // callers stay valid; convert/ leaves a 0 out, so a limit read back equals the one written.
  /** Swap on top of memory (vzctl --swap; cgroup memory.swap.max, v1 memsw = memory + swap). */
  swapBytes?: number;
  /** Relative CPU weight, 1024 = normal (docker --cpu-shares, cgroup v1 cpu.shares, OpenVZ cpuunits). */
  cpuShares?: number;
  /** Processes and threads (cgroup pids.max, vzctl --numproc). */
  pidsMax?: number;
  /** Root disk quota where the runtime has one (LXD root device size, vzctl --diskspace). */
  diskBytes?: number;
}

/** Every limit's key, for code that treats them alike (merge, compare, print). */
export const LIMIT_KEYS = ["memoryBytes", "cpus", "swapBytes", "cpuShares", "pidsMax", "diskBytes"] as const satisfies readonly (keyof Limits)[];

/** `base` with every limit `patch` gives; a 0 in the result is left out, as convert/ does. */
export function mergeLimits(base: Limits, patch: Partial<Limits>): Limits {
  const out: Limits = { memoryBytes: patch.memoryBytes ?? base.memoryBytes, cpus: patch.cpus ?? base.cpus };
  for (const k of ["swapBytes", "cpuShares", "pidsMax", "diskBytes"] as const) {
    const v = patch[k] ?? base[k] ?? 0;
    if (v > 0) out[k] = v;
  }
  return out;
}

/** The limits a `ct set` gives; a limit left out keeps its current value. */
export type LimitsPatch = Partial<Limits>;

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

export interface ContainerSpec {
  name: string;
  backend: BackendName;
  template: string;
  image: string;
  limits: Limits;
  env: string[];
  cmd: string[];
  ports: PortMapping[];
  labels: Record<string, string>;
  /** LXC: no id map, so root inside is root on the host (asked for, never the default); LXD: security.privileged. Absent: false. */
  privileged?: boolean;
  /** LXC/LXD: what a container engine inside needs (the seed's `-p docker` profile). Absent: false. */
  nesting?: boolean;
  /** Address on the cluster network, CIDR ("10.240.0.5/16"), allocated by the controller; absent: none. */
  ipv4?: string;
}

export type RuntimeState = "running" | "stopped" | "unknown";

export interface ContainerRef {
  name: string;
  backend: BackendName;
}

export interface ContainerStatus extends ContainerRef {
  state: RuntimeState;
  initPid: number;
  limits: Limits;
  /** inspect only, where the backend knows it (ExitReasons). */
  lastExit?: ExitInfo;
}

/** One process of a container (`corral ct top`). */
export interface ProcessInfo {
  hostPid: number;
  /** The PID in the container's own PID namespace. */
  pid: number;
  /** The user's name inside (from the container's /etc/passwd), or the uid inside when it has none. */
  user: string;
  hostUid: number;
  cpuSeconds: number;
  command: string;
}

/** The container that owns a host PID (`corral host pid`); `pid` is the PID inside it. */
export interface PidOwner {
  container: string;
  host: string;
  backend: BackendName;
  pid: number;
}

export interface ContainerUsage extends ContainerRef {
  state: RuntimeState;
  cpuNanos: number;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
}

export interface BackendInfo {
  name: string;
  available: boolean;
  reason: string;
  capabilities: string[];
}

export interface HostInfo {
  name: string;
  address: string;
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  diskFreeBytes: number;
  backends: BackendInfo[];
  agentVersion: string;
  /** host:port of the agent's data listener (agent-to-agent bulk bytes); absent: none. */
  dataAddress?: string;
}

export type ExecOutput =
  | { kind: "stdout"; data: Buffer }
  | { kind: "stderr"; data: Buffer }
  | { kind: "exit"; code: number };

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** How an exec runs. `login`: argv is empty and the container's login shell is opened (`vzctl enter`). */
export interface ExecOptions {
  tty: boolean;
  size: TerminalSize;
  login: boolean;
}

/** A command with no terminal, whose stdin is whatever input follows (or empty). */
export const PLAIN_EXEC: ExecOptions = { tty: false, size: { cols: 0, rows: 0 }, login: false };

/** What the caller sends into a running exec. */
export type ExecInput = { kind: "stdin"; data: Buffer } | { kind: "eof" } | { kind: "resize"; size: TerminalSize };

export interface ExecRequest {
  ref: ContainerRef;
  argv: string[];
  env: string[];
  /** Absent: PLAIN_EXEC. */
  options?: ExecOptions;
}

/** The controller's form of an exec: the container by name. */
export interface ExecStart {
  name: string;
  argv: string[];
  env: string[];
  options: ExecOptions;
}

export interface ImageHeader {
  name: string;
  backend: BackendName;
  sizeBytes: number;
  hosts: string[];
  /** Controller to agent: the bytes' SHA-256 (hex); the agent keeps nothing that does not match. */
  sha256?: string;
}

export type ImageChunk = { kind: "header"; header: ImageHeader } | { kind: "data"; data: Buffer };

/** `ct cp` into a container: where the tar goes (docker cp's rules) and its one top-level member. */
export interface CopyInHeader {
  container: string;
  /** Agent only; the controller fills it from its state. */
  backend: string;
  path: string;
  sourceName: string;
}

export type CopyInChunk = { kind: "header"; header: CopyInHeader } | { kind: "data"; data: Buffer };

/** `ct logs`: tail -1 is the whole log. */
export interface LogsOptions {
  follow: boolean;
  tail: number;
}

export interface ImageInfo {
  name: string;
  backend: BackendName;
  host: string;
  sizeBytes: number;
  id: string;
}

export interface TransferHeader {
  token: string;
  ref: ContainerRef;
  compression: Compression;
  totalBytes: number;
  sourceHost: string;
  archiveFormat: string;
}

export interface TransferTrailer {
  sha256: string;
  bytes: number;
}

export type ArchiveChunk =
  | { kind: "header"; header: TransferHeader }
  | { kind: "data"; data: Buffer }
  | { kind: "trailer"; trailer: TransferTrailer };

export interface PrepareReceive {
  token: string;
  ref: ContainerRef;
  compression: Compression;
  expectedBytes: number;
  /** The token is bound to the migration and its two hosts (DESIGN.md, "Transfer tokens"). */
  migrationId: string;
  sourceHost: string;
  targetHost: string;
  /** What the container's spec grants (the controller's word, not the source's): see RestoreGrants. */
  grants?: RestoreGrants;
  /** The container's spec, when the controller sends it: the target checks ports and keeps the address. */
  spec?: ContainerSpec;
  /** The backend the source archives from, when it is not ref's (the move converts). */
  sourceBackend?: BackendName;
}

/** What a restored container may be granted: its archive may carry these settings only when set. */
export interface RestoreGrants {
  privileged: boolean;
  nesting: boolean;
}

export const NO_GRANTS: RestoreGrants = Object.freeze({ privileged: false, nesting: false });

export interface SendArchive {
  ref: ContainerRef;
  targetAddress: string;
  /** The host the target's certificate must name. */
  targetHost: string;
  token: string;
  compression: Compression;
  /** Absent or 0: unlimited. */
  bwlimitBytesPerSecond?: number;
  /** The target's data listener; absent: the archive goes over gRPC ReceiveArchive. */
  dataAddress?: string;
  /**
   * Pre-copy (ct migrate --precopy): "first" syncs the container's tree with rsync while it runs;
   * "final" syncs it again (stopped) and then sends the archive of the rest. Absent: a cold archive.
   */
  precopyPass?: PrecopyPass;
}

export type PrecopyPass = "first" | "final";

/** A dry run's check of the data path, asked of the source agent (AgentService.ProbePeer). */
export interface ProbePeer {
  targetHost: string;
  dataAddress: string;
  targetBackend: BackendName;
}

export interface PeerProbeResult {
  /** Free for staging on the target, its reserve taken off. */
  stagingFreeBytes: number;
  roundTripMs: number;
}

export interface TransferProgress {
  bytes: number;
  totalBytes: number;
  done: boolean;
  sha256: string;
}

export interface AbortReceiveResult {
  removedStaging: boolean;
  removedContainer: boolean;
}

// ---- controller-facing types ----

/** `drained`: draining and empty (derived, not stored); no new placements land on it. */
export type HostState = "ready" | "cordoned" | "draining" | "drained" | "down";

export interface Host {
  name: string;
  address: string;
  state: HostState;
  backends: BackendInfo[];
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  diskFreeBytes: number;
  reservedMemoryBytes: number;
  reservedCpus: number;
  /** The disk limits of the containers placed here: at most diskBytes × overcommit. */
  reservedDiskBytes: number;
  containers: number;
  lastSeenUnixMs: number;
  labels: Record<string, string>;
  /** Placement fills memory, CPUs and disk up to capacity × overcommit (1.0: never beyond capacity). */
  overcommit: number;
}

/** lost: its host answers but no longer has it (destroyed behind the controller's back). */
export type ContainerState = "creating" | "running" | "stopped" | "migrating" | "unknown" | "error" | "lost";
export type DesiredState = "running" | "stopped";

/** How a container last ended, or why it last failed to start (exitCode -1), from its runtime. */
export interface ExitInfo {
  exitCode: number;
  atUnixMs: number;
  reason: string;
  /** The last lines of the runtime's log for it. */
  logTail: string;
}

export interface Container {
  name: string;
  host: string;
  backend: BackendName;
  state: ContainerState;
  desiredState: DesiredState;
  spec: ContainerSpec;
  usage: ContainerUsage | undefined;
  createdUnixMs: number;
  /** When its host last reported it; 0: never. With state unknown, says how old what we know is. */
  lastReportUnixMs: number;
  /** `ct show` only: fetched from the agent when it answers. */
  lastExit?: ExitInfo;
}

/** The forward phases of a migration, in order (DESIGN.md); a phase is written before its step. */
export const MIGRATION_FORWARD_PHASES = [
  "planned",
  "target_reserved",
  "precopying",
  "source_stopped",
  "transferring",
  "transferred",
  "target_started",
  "source_removed",
  "done",
] as const;
export const MIGRATION_PHASES = [...MIGRATION_FORWARD_PHASES, "rolling_back", "rolled_back"] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

export interface Migration {
  id: string;
  container: string;
  sourceHost: string;
  targetHost: string;
  phase: MigrationPhase;
  bytes: number;
  totalBytes: number;
  error: string;
  startedUnixMs: number;
  finishedUnixMs: number;
  downtimeMs: number;
  compression: Compression;
  sha256: string;
  /** Downtime split (downtimeMs is their sum plus the gaps): the stop, the final sync (the whole transfer when cold), the start. */
  stopMs: number;
  finalSyncMs: number;
  startMs: number;
  wasRunning: boolean;
  stopTimeoutSeconds: number;
  keepSource: boolean;
  /** The stopped source still exists, waiting for `migration finish`. */
  sourceKept: boolean;
  /** totalBytes is the source's estimate from its tree size, not a count. */
  totalIsEstimate: boolean;
  /** The host whose failure ended the migration, when one did. */
  failedHost: string;
  phaseStartedUnixMs: number;
  /** Set when the move converts the container to another backend (ct migrate --backend). */
  conversion?: ConversionPlan;
  /** ct migrate --precopy: copied while running, then only what changed while stopped. */
  precopy: boolean;
  /** Live passes of a pre-copy begun so far: the first copies the tree, each later one what changed since. */
  precopyPasses: number;
}

export interface ConversionItem {
  /** The source's setting: a CTID.conf key or an LXC config key. */
  key: string;
  /** Carried: what it becomes on the target. Dropped: why it cannot carry over. */
  detail: string;
}

/** An IPv4 address a host's container holds in its runtime's own config (migration pre-flight). */
export interface AddressInUse {
  address: string;
  /** As the runtime names it ("CT 101"). */
  holder: string;
  /** The Corral container holding it, when the holder is one. */
  container?: string;
}

/** What a move to another runtime makes of the container's own settings. */
export interface ConversionPlan {
  sourceBackend: BackendName;
  targetBackend: BackendName;
  carried: ConversionItem[];
  dropped: ConversionItem[];
}

/** The fields of a Migration beyond its identity, phase and bytes, as a plain cold move starts them. */
export const MIGRATION_DETAIL_DEFAULTS = {
  stopMs: 0,
  finalSyncMs: 0,
  startMs: 0,
  wasRunning: true,
  stopTimeoutSeconds: 30,
  keepSource: false,
  sourceKept: false,
  totalIsEstimate: false,
  failedHost: "",
  phaseStartedUnixMs: 0,
  precopy: false,
  precopyPasses: 0,
} as const satisfies Partial<Migration>;

export interface MigrationUpdate {
  migration: Migration;
  rateBytesPerSecond: number;
  /** Negative: unknown. */
  etaSeconds: number;
}

export interface ContainerList {
  containers: Container[];
  /** Containers hosts report that the controller does not manage there. */
  drift: Container[];
}

export interface MigrateOptions {
  compression: Compression;
  /** undefined: 30 s; 0: kill at once. */
  stopTimeoutSeconds: number | undefined;
  detach: boolean;
  dryRun: boolean;
  keepSource: boolean;
  bwlimitBytesPerSecond: number;
  /** Copy while running, stop, send only what changed, start (LXC). Absent: false. */
  precopy?: boolean;
  /** Absent: the container's own backend; else it is converted on the way (openvz→lxc|lxd, lxc→lxd). */
  targetBackend?: BackendName;
}

export interface UsageReport {
  host: string;
  atUnixMs: number;
  containers: ContainerUsage[];
  diskFreeBytes: number;
}

/** How the scheduler should place a container; every field may be left out. */
export interface PlacementOptions {
  /** `key=value` or `key!=value` against host labels. */
  constraints?: string[];
  /** At most one member of this group per host. */
  antiAffinity?: string;
  /** binpack | spread; empty: the cluster default. */
  strategy?: string;
}

export interface CreateRequest extends PlacementOptions {
  spec: ContainerSpec;
  host: string;
  start: boolean;
}

/** One host's verdict from the scheduler: the filter that rejected it and why, or its score. */
export interface PlacementVerdict {
  host: string;
  /** null when the host can take the container. */
  filter: string | null;
  reason: string;
  score: number | null;
}

/** What `ct create --dry-run --explain` shows: the host that would be chosen (or null) and every verdict. */
export interface PlacementExplanation {
  host: string | null;
  strategy: string;
  seed: number;
  verdicts: PlacementVerdict[];
}

/** One line of a drain or restore: a container planned, moving, moved or failed; the last has done set. */
export interface HostMoveProgress {
  container: string;
  /** Where it goes (drain: the chosen host; restore: the host being restored). */
  targetHost: string;
  status: "planned" | "moving" | "moved" | "failed" | "";
  error: string;
  migration: Migration | undefined;
  done: boolean;
  hostState: HostState | "";
}

/** A host without a certificate asks for one with a join token (see JoinService in controller.proto). */
export interface JoinRequest {
  token: string;
  host: string;
  csrPem: string;
}

export interface JoinResponse {
  certPem: string;
  caPem: string;
}

export interface JoinToken {
  token: string;
  expiresUnixMs: number;
}

/** The cluster network as one host needs it (pushed by the controller, applied by the agent). */
export interface HostNetworkConfig {
  /** This host's address on the container network, CIDR: the containers' gateway. */
  bridgeAddress: string;
  vni: number;
  mtu: number;
  /** This host's own (underlay) address. */
  localIp: string;
  /** The other hosts' underlay addresses: one VXLAN flood entry each. */
  peers: string[];
}

/** Who holds an address of the pool: a container, or a host's bridge. */
export interface AddressHolder {
  address: string;
  kind: "container" | "host";
  holder: string;
  host: string;
}

export interface NetworkView {
  /** CIDR; "" when the controller runs without a container network. */
  pool: string;
  vni: number;
  mtu: number;
  addresses: AddressHolder[];
  free: number;
}
