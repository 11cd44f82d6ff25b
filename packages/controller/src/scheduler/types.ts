// What the scheduler reads and returns. It sees a snapshot, never the store.
import type { BackendName, ErrorCode, Host } from "@corral/wire";

export type HostSnapshot = Pick<
  Host,
  "name" | "state" | "backends" | "cpus" | "memoryBytes" | "reservedMemoryBytes" | "reservedCpus"
>;

/** What a container asks for. Zero memory or cpus means unlimited, which reserves nothing. */
export interface PlacementAsk {
  name: string;
  backend: BackendName;
  memoryBytes: number;
  cpus: number;
}

export interface Rejection {
  /** The error code a caller should use when this host was the only choice. */
  code: ErrorCode;
  reason: string;
}

export interface Verdict {
  host: string;
  rejection: Rejection | undefined;
  score: number | undefined;
}

export interface Plan {
  host: string;
  reason: string;
  seed: number;
  verdicts: Verdict[];
}

export type Algorithm = "binpack" | "spread";

export interface PlaceOptions {
  algorithm?: Algorithm;
  /** Fixes the shuffle so that a decision can be replayed. Random when absent. */
  seed?: number;
  /** Only this host is considered; its rejection becomes the error. */
  host?: string;
  /** Score at most this many feasible hosts (default 20). */
  sampleLimit?: number;
}
