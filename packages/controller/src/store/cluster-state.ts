// The cluster state that placement and liveness read, held in memory as Nomad's state store holds it:
// hosts with their reserved totals, labels and anti-affinity groups, and where each container lives.
// It is loaded from SQLite once when the store opens; after that every store function that writes a
// row it mirrors updates it in the same call. Inside a transaction each change logs its inverse, so a
// rollback leaves memory as SQLite is. Heartbeat times and free disk live only here: usage is not state.
import type { BackendInfo, ContainerSpec, ContainerState, PortMapping, ContainerUsage, DesiredState, Host, HostState } from "@corral/wire";
import type { Db } from "./store.js";
import { cpuRoom, memoryRoom } from "../scheduler/filters.js";
import type { HostRoom } from "../scheduler/place.js";

/** What an operator chose; what is stored in hosts.admin_state. */
export type AdminState = "ready" | "cordoned" | "draining";
/** What is stored in hosts.state: the admin state, or down. */
export type StoredState = AdminState | "down";

/** One host as the scheduler sees it. Mutated in place by the store; read as a snapshot by place(). */
export interface HostView extends Omit<Host, "state"> {
  /** As stored; the public state (hostOf) shows an empty draining host as drained. */
  state: StoredState;
  adminState: AdminState;
  /** How far placed reservations may exceed capacity: 1.0 never overcommits. */
  overcommit: number;
  /** Anti-affinity group → members on this host. */
  groups: Map<string, number>;
  /** Published host port ("80/tcp") → the containers on this host that publish it (the port filter). */
  ports: Map<string, string[]>;
}

interface Held {
  host: string;
  memoryBytes: number;
  cpus: number;
  diskBytes: number;
}
interface MigrationHold extends Held {
  container: string;
}
export interface AddressHold {
  kind: "container" | "host";
  holder: string;
}

interface ContainerView {
  host: string;
  group: string;
  /** actual_state as stored. */
  state: ContainerState;
  /** desired_state as stored: the reconciler reads it here every second, not from 50,000 rows. */
  desired: DesiredState;
  /** created_ms as stored: a container never reported is judged from its creation. */
  createdMs: number;
  /** The host ports its spec publishes ("80/tcp"). */
  ports: readonly string[];
}

const states = new WeakMap<Db, ClusterState>();

/** The in-memory state kept beside `db`; Store.open attaches it. */
export function stateOf(db: Db): ClusterState {
  const s = states.get(db);
  if (!s) throw new Error("this database handle was not opened through Store.open; no cluster state is attached");
  return s;
}

export function attachState(db: Db, state: ClusterState): void {
  states.set(db, state);
}

interface HostRow {
  name: string;
  address: string;
  state: StoredState;
  admin_state: AdminState;
  cpus: number;
  memory_bytes: number;
  disk_bytes: number;
  disk_free_bytes: number;
  backends: string;
  last_seen_ms: number;
  labels: string;
  overcommit: number;
}

export class ClusterState {
  private readonly byName = new Map<string, HostView>();
  /** Counts every change to the host list or a host's address (and its undo): derived views key on it. */
  private hostListVersion = 0;
  /** Hosts sorted by name (plain code-unit order): the scheduler's stable visiting order. */
  private sorted: HostView[] = [];
  /** key=value → the hosts so labelled, in name order (hostsLabelled). */
  private readonly labelIndex = new Map<string, HostView[]>();
  private readonly containerViews = new Map<string, ContainerView>();
  /** Host name → the containers on it, kept by count(): SQLite has no index by host (schema.ts). */
  private readonly byHost = new Map<string, Set<string>>();
  private readonly placements = new Map<string, Held>();
  private readonly holds = new Map<string, MigrationHold>();
  private readonly settingValues = new Map<string, string>();
  /** The last usage each container's host reported: read by `ct list`, never written to SQLite. */
  private readonly usages = new Map<string, ContainerUsage>();
  /** When each container's host last reported it: how old a down host's word is (reconcile/). */
  private readonly lastReports = new Map<string, number>();
  /** Addresses of the container network → who holds each; and the reverse, by "kind:holder". */
  private readonly addressHolders = new Map<string, AddressHold>();
  private readonly addressByHolder = new Map<string, string>();
  private log: (() => void)[] | undefined;
  /**
   * One array per distinct backend list, shared by every host that reports it: placement reads it on
   * every host it visits, and 5,000 hosts' own copies were a third of its filtering time at 1M
   * containers (cache misses), against a handful of shared arrays that stay in cache.
   */
  private readonly backendLists = new Map<string, BackendInfo[]>();
  /**
   * Each host's room by its position in `sorted` (placement skips full hosts on it: HostRoom), with
   * each host's position. Built on first ask after the host list changes; kept by reserve and patchHost.
   */
  private packedRoom: (HostRoom & { version: number; at: Map<string, number> }) | undefined;

  /** Reads everything the state mirrors from SQLite. */
  static load(db: Db, now = Date.now()): ClusterState {
    const s = new ClusterState();
    for (const r of db.prepare("SELECT * FROM hosts ORDER BY name").all() as HostRow[]) {
      s.addHost({
        name: r.name,
        address: r.address,
        state: r.state,
        adminState: r.admin_state,
        backends: JSON.parse(r.backends) as BackendInfo[],
        cpus: r.cpus,
        memoryBytes: r.memory_bytes,
        diskBytes: r.disk_bytes,
        diskFreeBytes: r.disk_free_bytes,
        // Heartbeat times are not persisted per report; a loaded host counts as heard from at load,
        // and liveness gives the cluster its grace period from there.
        lastSeenUnixMs: Math.max(r.last_seen_ms, now),
        labels: JSON.parse(r.labels) as Record<string, string>,
        overcommit: r.overcommit,
      });
    }
    const rows = db.prepare("SELECT name, host, placement, actual_state, desired_state, created_ms, spec FROM containers").all() as {
      name: string;
      host: string;
      placement: string;
      spec: string;
      actual_state: ContainerState;
      desired_state: DesiredState;
      created_ms: number;
    }[];
    for (const c of rows) s.addContainer(c.name, c.host, groupOf(c.placement), c.actual_state, c.desired_state, c.created_ms, portsOf(JSON.parse(c.spec) as ContainerSpec));
    const res = db.prepare("SELECT host, container, migration_id, memory_bytes, cpus, disk_bytes FROM reservations").all() as {
      host: string;
      container: string;
      migration_id: string | null;
      memory_bytes: number;
      cpus: number;
      disk_bytes: number;
    }[];
    for (const r of res) {
      const held = { host: r.host, memoryBytes: r.memory_bytes, cpus: r.cpus, diskBytes: r.disk_bytes };
      if (r.migration_id === null) s.reservePlacement(r.container, held);
      else s.holdForMigration(r.migration_id, { ...held, container: r.container });
    }
    for (const r of db.prepare("SELECT key, value FROM settings").all() as { key: string; value: string }[]) {
      s.settingValues.set(r.key, r.value);
    }
    for (const r of db.prepare("SELECT address, kind, holder FROM addresses").all() as ({ address: string } & AddressHold)[]) {
      s.holdAddress(r.address, { kind: r.kind, holder: r.holder });
    }
    return s;
  }

  // ---- transactions (driven by Store.tx) ----

  begin(): void {
    this.log = [];
  }
  commit(): void {
    this.log = undefined;
  }
  /** Position to roll back to when a nested transaction (a savepoint) fails. */
  mark(): number {
    return this.log?.length ?? 0;
  }
  /** Undoes every change since `to` (a mark); the outermost rollback (`end`) also closes the log. */
  rollback(to: number, end: boolean): void {
    const log = this.log;
    if (!log) return;
    while (log.length > to) (log.pop() as () => void)();
    if (end) this.log = undefined;
  }
  private undoable(undo: () => void): void {
    this.log?.push(undo);
  }

  // ---- reads ----

  /** Every host, sorted by name. The array and its hosts are live: read them, never keep them. */
  hosts(): readonly HostView[] {
    return this.sorted;
  }
  /** The room of every host of hosts(), by position: placement's prefilter. Live: read it, never keep it. */
  room(): HostRoom {
    let r = this.packedRoom;
    if (!r || r.version !== this.hostListVersion) {
      const n = this.sorted.length;
      r = { memory: new Float64Array(n), cpus: new Float64Array(n), version: this.hostListVersion, at: new Map() };
      for (let i = 0; i < n; i++) {
        const h = this.sorted[i] as HostView;
        r.memory[i] = memoryRoom(h);
        r.cpus[i] = cpuRoom(h);
        r.at.set(h.name, i);
      }
      this.packedRoom = r;
    }
    return r;
  }
  /** A host's reservations or capacity changed: its packed room too (a changed host list rebuilds it all). */
  private roomChanged(h: HostView): void {
    const r = this.packedRoom;
    if (!r || r.version !== this.hostListVersion) return;
    const i = r.at.get(h.name);
    if (i === undefined) return;
    r.memory[i] = memoryRoom(h);
    r.cpus[i] = cpuRoom(h);
  }

  /** Changes whenever a host is added, removed or re-registered (its address may differ). */
  get hostsVersion(): number {
    return this.hostListVersion;
  }
  host(name: string): HostView | undefined {
    return this.byName.get(name);
  }
  hostOf(container: string): string | undefined {
    return this.containerViews.get(container)?.host;
  }
  setting(key: string): string | undefined {
    return this.settingValues.get(key);
  }
  get containerCount(): number {
    return this.containerViews.size;
  }

  /** A plain, comparable copy of everything mirrored, for tests that check memory against SQLite. */
  dump(): unknown {
    const hosts = this.sorted.map((h) => ({
      ...h,
      lastSeenUnixMs: undefined,
      diskFreeBytes: undefined,
      groups: [...h.groups].filter(([, n]) => n > 0).sort(),
      ports: [...h.ports].map(([p, by]) => [p, [...by].sort()]).sort(),
    }));
    const sortedEntries = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      hosts,
      containers: sortedEntries(this.containerViews),
      placements: sortedEntries(this.placements),
      holds: sortedEntries(this.holds),
      settings: sortedEntries(this.settingValues),
      addresses: sortedEntries(this.addressHolders),
      containersByHost: [...this.byHost.keys()].sort().map((h) => [h, this.containersOn(h)]),
    };
  }

  // ---- writes (called by the store functions beside their SQL) ----

  addHost(h: Omit<HostView, "reservedMemoryBytes" | "reservedCpus" | "reservedDiskBytes" | "containers" | "groups" | "ports">): HostView {
    const key = JSON.stringify(h.backends);
    let backends = this.backendLists.get(key);
    if (!backends) this.backendLists.set(key, (backends = h.backends));
    const existing = this.byName.get(h.name);
    this.labelIndex.clear();
    this.hostListVersion++;
    if (existing) {
      const before = { ...existing };
      Object.assign(existing, h, { backends });
      this.undoable(() => {
        Object.assign(existing, before);
        this.labelIndex.clear();
        this.hostListVersion++;
      });
      return existing;
    }
    // Every field written out in one literal: V8 then keeps them all in-object, which placement (tens
    // of hosts read per placement) measured 3-4× faster than a spread followed by added fields.
    const view: HostView = {
      name: h.name,
      address: h.address,
      state: h.state,
      adminState: h.adminState,
      backends,
      cpus: h.cpus,
      memoryBytes: h.memoryBytes,
      diskBytes: h.diskBytes,
      diskFreeBytes: h.diskFreeBytes,
      reservedMemoryBytes: 0,
      reservedCpus: 0,
      reservedDiskBytes: 0,
      containers: 0,
      lastSeenUnixMs: h.lastSeenUnixMs,
      labels: h.labels,
      overcommit: h.overcommit,
      groups: new Map(),
      ports: new Map(),
    };
    this.byName.set(h.name, view);
    const i = insertionIndex(this.sorted, h.name);
    this.sorted.splice(i, 0, view);
    this.undoable(() => {
      this.byName.delete(h.name);
      this.sorted.splice(this.sorted.indexOf(view), 1);
      this.labelIndex.clear();
      this.hostListVersion++;
    });
    return view;
  }

  /** Forgets a host (`host rm`: down and empty, checked by the caller); logged for rollback. */
  removeHost(name: string): void {
    this.releaseAddress({ kind: "host", holder: name });
    const view = this.byName.get(name);
    if (!view) return;
    const i = this.sorted.indexOf(view);
    this.byName.delete(name);
    this.sorted.splice(i, 1);
    this.labelIndex.clear();
    this.hostListVersion++;
    this.undoable(() => {
      this.byName.set(name, view);
      this.sorted.splice(insertionIndex(this.sorted, name), 0, view);
      this.labelIndex.clear();
      this.hostListVersion++;
    });
  }

  /** Changes fields of a host; logged for rollback. */
  patchHost(name: string, patch: Partial<Pick<HostView, "state" | "adminState" | "labels" | "overcommit">>): void {
    const h = this.byName.get(name);
    if (!h) return;
    const before: Partial<HostView> = {};
    for (const k of Object.keys(patch) as (keyof typeof patch)[]) (before as Record<string, unknown>)[k] = h[k];
    Object.assign(h, patch);
    if (patch.labels) this.labelIndex.clear();
    this.roomChanged(h);
    this.undoable(() => {
      Object.assign(h, before);
      this.labelIndex.clear();
      this.roomChanged(h);
    });
  }

  /**
   * The hosts labelled key=value, in name order: a constrained placement visits only these instead of
   * sampling past every host of the other zones. Built on first ask, dropped when hosts or labels change.
   */
  hostsLabelled(key: string, value: string): readonly HostView[] {
    const k = `${key}\u0000${value}`;
    let hosts = this.labelIndex.get(k);
    if (!hosts) {
      hosts = this.sorted.filter((h) => h.labels[key] === value);
      this.labelIndex.set(k, hosts);
    }
    return hosts;
  }

  /** Heartbeat facts: not state, never rolled back, never written per report. */
  heard(name: string, now: number, diskFreeBytes: number): void {
    const h = this.byName.get(name);
    if (!h) return;
    h.lastSeenUnixMs = now;
    h.diskFreeBytes = diskFreeBytes;
  }

  addContainer(name: string, host: string, group: string, state: ContainerState, desired: DesiredState, createdMs: number, ports: readonly string[] = []): void {
    const c: ContainerView = { host, group, state, desired, createdMs, ports };
    this.containerViews.set(name, c);
    this.count(host, name, c, +1);
    this.undoable(() => {
      this.containerViews.delete(name);
      this.count(host, name, c, -1);
    });
  }

  /** A changed spec's published ports (setContainerSpec). */
  setContainerPorts(name: string, ports: readonly string[]): void {
    const c = this.containerViews.get(name);
    if (!c || (c.ports.length === ports.length && c.ports.every((p, i) => p === ports[i]))) return;
    const before = c.ports;
    this.publish(c.host, name, before, -1);
    c.ports = ports;
    this.publish(c.host, name, ports, +1);
    this.undoable(() => {
      this.publish(c.host, name, ports, -1);
      c.ports = before;
      this.publish(c.host, name, before, +1);
    });
  }

  /** Removes a container with its reservations, as the foreign key's ON DELETE CASCADE does. */
  removeContainer(name: string): void {
    const c = this.containerViews.get(name);
    if (c) {
      this.containerViews.delete(name);
      this.usages.delete(name);
      this.count(c.host, name, c, -1);
      this.undoable(() => {
        this.containerViews.set(name, c);
        this.count(c.host, name, c, +1);
      });
    }
    this.releasePlacement(name);
    for (const [id, hold] of this.holds) if (hold.container === name) this.releaseMigration(id);
    this.releaseAddress({ kind: "container", holder: name });
  }

  // ---- the container network's addresses (a removed container or host frees its own, as the triggers do) ----

  holderOf(address: string): Readonly<AddressHold> | undefined {
    return this.addressHolders.get(address);
  }
  addressOf(hold: AddressHold): string | undefined {
    return this.addressByHolder.get(`${hold.kind}:${hold.holder}`);
  }
  /** Every held address with its holder, in no particular order. */
  heldAddresses(): IterableIterator<[string, Readonly<AddressHold>]> {
    return this.addressHolders.entries();
  }
  get addressCount(): number {
    return this.addressHolders.size;
  }
  holdAddress(address: string, hold: AddressHold): void {
    const key = `${hold.kind}:${hold.holder}`;
    this.addressHolders.set(address, hold);
    this.addressByHolder.set(key, address);
    this.undoable(() => {
      this.addressHolders.delete(address);
      this.addressByHolder.delete(key);
    });
  }
  releaseAddress(hold: AddressHold): void {
    const key = `${hold.kind}:${hold.holder}`;
    const address = this.addressByHolder.get(key);
    if (address === undefined) return;
    const was = this.addressHolders.get(address)!;
    this.addressHolders.delete(address);
    this.addressByHolder.delete(key);
    this.undoable(() => {
      this.addressHolders.set(address, was);
      this.addressByHolder.set(key, address);
    });
  }

  container(name: string): Readonly<ContainerView> | undefined {
    return this.containerViews.get(name);
  }

  setContainerState(name: string, state: ContainerState, desired?: DesiredState): void {
    const c = this.containerViews.get(name);
    if (!c || (c.state === state && (desired === undefined || c.desired === desired))) return;
    const before = { state: c.state, desired: c.desired };
    c.state = state;
    if (desired !== undefined) c.desired = desired;
    this.undoable(() => Object.assign(c, before));
  }

  /** The names of the containers on `host`, sorted. */
  containersOn(host: string): string[] {
    return [...(this.byHost.get(host) ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every container as the state holds it, in no particular order (the reconciler's pass). */
  containers(): IterableIterator<[string, Readonly<ContainerView>]> {
    return this.containerViews.entries();
  }

  /**
   * A report's usage: not state, never rolled back. Copied into the container's one record rather
   * than replacing it, so that 10,000 usages a second die young instead of churning the old heap.
   */
  setUsage(name: string, usage: ContainerUsage, at: number): void {
    const kept = this.usages.get(name);
    if (kept) Object.assign(kept, usage);
    else this.usages.set(name, { ...usage });
    this.lastReports.set(name, at);
  }
  /** Its host named it at `at` (its usage was not taken). */
  reportedAt(name: string, at: number): void {
    this.lastReports.set(name, at);
  }
  /** A container that vanished from its host keeps no live-looking usage. */
  clearUsage(name: string): void {
    this.usages.delete(name);
  }
  lastReportOf(name: string): number | undefined {
    return this.lastReports.get(name);
  }
  /** A copy: the kept record changes with every report. */
  usageOf(name: string): ContainerUsage | undefined {
    const kept = this.usages.get(name);
    return kept ? { ...kept } : undefined;
  }

  moveContainer(name: string, host: string): void {
    const c = this.containerViews.get(name);
    if (!c || c.host === host) return;
    const from = c.host;
    this.count(from, name, c, -1);
    c.host = host;
    this.count(host, name, c, +1);
    this.undoable(() => {
      this.count(host, name, c, -1);
      c.host = from;
      this.count(from, name, c, +1);
    });
  }

  reservePlacement(container: string, held: Held): void {
    this.put(this.placements, container, held);
  }
  releasePlacement(container: string): void {
    this.take(this.placements, container);
  }
  holdForMigration(id: string, hold: MigrationHold): void {
    this.put(this.holds, id, hold);
  }
  releaseMigration(id: string): void {
    this.take(this.holds, id);
  }

  /** Replaces what `key` holds in `m` (placements or migration holds), counting it on its host. */
  private put<H extends Held>(m: Map<string, H>, key: string, held: H): void {
    this.take(m, key);
    m.set(key, held);
    this.reserve(held, +1);
    this.undoable(() => {
      m.delete(key);
      this.reserve(held, -1);
    });
  }
  private take<H extends Held>(m: Map<string, H>, key: string): void {
    const held = m.get(key);
    if (!held) return;
    m.delete(key);
    this.reserve(held, -1);
    this.undoable(() => {
      m.set(key, held);
      this.reserve(held, +1);
    });
  }

  placementOf(container: string): Readonly<Held> | undefined {
    return this.placements.get(container);
  }

  setSetting(key: string, value: string): void {
    const before = this.settingValues.get(key);
    this.settingValues.set(key, value);
    this.undoable(() => (before === undefined ? this.settingValues.delete(key) : this.settingValues.set(key, before)));
  }

  // Not logged: every caller logs the inverse of the change that calls these.
  private reserve(held: Held, sign: 1 | -1): void {
    const h = this.byName.get(held.host);
    if (!h) return;
    h.reservedMemoryBytes += sign * held.memoryBytes;
    h.reservedCpus = roundCpus(h.reservedCpus + sign * held.cpus);
    h.reservedDiskBytes += sign * held.diskBytes;
    this.roomChanged(h);
  }
  private count(host: string, name: string, c: ContainerView, sign: 1 | -1): void {
    let names = this.byHost.get(host);
    if (sign > 0) {
      if (!names) this.byHost.set(host, (names = new Set()));
      names.add(name);
    } else if (names) {
      names.delete(name);
      if (names.size === 0) this.byHost.delete(host);
    }
    const h = this.byName.get(host);
    if (!h) return;
    h.containers += sign;
    if (c.group) {
      const n = (h.groups.get(c.group) ?? 0) + sign;
      if (n > 0) h.groups.set(c.group, n);
      else h.groups.delete(c.group);
    }
    this.publish(host, name, c.ports, sign);
  }
  private publish(host: string, name: string, ports: readonly string[], sign: 1 | -1): void {
    const h = this.byName.get(host);
    if (!h) return;
    for (const p of ports) {
      const by = (h.ports.get(p) ?? []).filter((n) => n !== name);
      if (sign > 0) by.push(name);
      if (by.length) h.ports.set(p, by);
      else h.ports.delete(p);
    }
  }
}

// Fractional CPUs summed and subtracted in any order must come back to the same total.
const roundCpus = (n: number) => Math.round(n * 1e6) / 1e6;

function insertionIndex(sorted: readonly HostView[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as HostView).name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How a published port is named in messages and by the scheduler's port filter: "80/tcp". */
export const portKey = (p: PortMapping): string => `${p.hostPort}/${p.protocol}`;
/** The host ports a spec publishes. */
/** Shared by every container that publishes none (most): one array, not one per create. */
const NO_PORTS: readonly string[] = Object.freeze([]);
export const portsOf = (spec: ContainerSpec): readonly string[] => (spec.ports?.length ? spec.ports.map(portKey) : NO_PORTS);

/** The anti-affinity group recorded in a container's placement column. */
export function groupOf(placementJson: string): string {
  try {
    const p = JSON.parse(placementJson) as { antiAffinity?: unknown };
    return typeof p.antiAffinity === "string" ? p.antiAffinity : "";
  } catch {
    return "";
  }
}

/** A draining host that holds nothing any more is shown as drained. */
export function publicState(h: HostView): HostState {
  return h.state === "draining" && h.containers === 0 ? "drained" : h.state;
}

/** The public view of a host. */
export function hostOf(h: HostView): Host {
  return {
    name: h.name,
    address: h.address,
    state: publicState(h),
    backends: h.backends,
    cpus: h.cpus,
    memoryBytes: h.memoryBytes,
    diskBytes: h.diskBytes,
    diskFreeBytes: h.diskFreeBytes,
    reservedMemoryBytes: h.reservedMemoryBytes,
    reservedCpus: h.reservedCpus,
    reservedDiskBytes: h.reservedDiskBytes,
    containers: h.containers,
    lastSeenUnixMs: h.lastSeenUnixMs,
    labels: h.labels,
    overcommit: h.overcommit,
  };
}
