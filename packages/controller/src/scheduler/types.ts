// What the scheduler reads and returns. It sees a snapshot, never the store.
import type { BackendName, ErrorCode, Host } from "@corral/wire";

export type HostSnapshot = Pick<
  Host,
  "name" | "state" | "backends" | "cpus" | "memoryBytes" | "reservedMemoryBytes" | "reservedCpus"
> & {
  /** Reported free disk; a disk ask is checked against it. Absent: unknown, not checked. */
  diskFreeBytes?: number;
  /** Disk size; placed disk limits may reach it × overcommit. Absent or 0: unknown, not checked. */
  diskBytes?: number;
  /** The disk limits placed here. */
  reservedDiskBytes?: number;
  labels?: Readonly<Record<string, string>>;
  /** Reservations (memory, CPUs, disk) may reach capacity × overcommit (default 1.0). */
  overcommit?: number;
  /** Anti-affinity group → members already on the host. */
  groups?: ReadonlyMap<string, number>;
  /** Published host port ("80/tcp") → the containers on the host that publish it. */
  ports?: ReadonlyMap<string, readonly string[]>;
};

/** `key=value` (the host must have that label value) or `key!=value` (it must not). */
export interface Constraint {
  key: string;
  op: "=" | "!=";
  value: string;
}

/** What a container asks for. Zero memory or cpus means unlimited, which reserves nothing. */
export interface PlacementAsk {
  name: string;
  backend: BackendName;
  memoryBytes: number;
  cpus: number;
  /** The container's disk limit; 0 or absent reserves no disk. */
  diskBytes?: number;
  constraints?: readonly Constraint[];
  /** At most one member of this group per host. */
  antiAffinity?: string;
  /** Host ports it publishes ("80/tcp"): a host where another container publishes one is not chosen. */
  ports?: readonly string[];
}

/** The filters, by the name a verdict carries. */
export const FILTER_NAMES = ["state", "backend", "memory", "cpu", "disk", "constraint", "anti-affinity", "port"] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

export interface Rejection {
  filter: FilterName;
  /** The error code a caller should use when this host was the only choice. */
  code: ErrorCode;
  reason: string;
}

/** One host's verdict: rejected by `filter` for `reason`, or feasible (filter null) with its score. */
export interface Verdict {
  host: string;
  filter: FilterName | null;
  reason: string;
  score: number | null;
}

export interface Plan {
  host: string;
  reason: string;
  seed: number;
  algorithm: Algorithm;
  verdicts: Verdict[];
}

export const ALGORITHMS = ["binpack", "spread"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface PlaceOptions {
  algorithm?: Algorithm;
  /** Fixes the visiting order so that a decision can be replayed. Random when absent. */
  seed?: number;
  /** Only this host is considered; its rejection becomes the error. */
  host?: string;
  /** Score at most this many feasible hosts (default 20). */
  sampleLimit?: number;
  /** Visit every host and report each verdict (explain); the choice is the same as without. */
  explain?: boolean;
  /** Keep the scored hosts' verdicts in the plan (default true); the create path needs only the choice. */
  verdicts?: boolean;
}
