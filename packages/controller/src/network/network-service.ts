// The controller's side of the container network: each host's bridge address and its peers, pushed
// to the agents (on registration, and to every host whenever the host list changes); and the view
// `corral network show` prints.
import { messageOf, type AddressHolder, type HostNetworkConfig, type NetworkView } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { stateOf, type ClusterState } from "../store/cluster-state.js";
import { hostBridgeAddress } from "./addresses.js";
import { ipToInt } from "./pool.js";

/** The host part of "10.77.0.11:7401" (the underlay address the controller reaches the agent at). */
const ipOfAddress = (address: string): string => address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");

/** What `host` must apply; allocates its bridge address on first use (in a transaction). O(hosts). */
export function networkConfigFor(ctx: ControllerContext, host: string): HostNetworkConfig | undefined {
  const net = ctx.network;
  if (!net) return undefined;
  const state = stateOf(ctx.store.db);
  const self = state.host(host);
  if (!self) return undefined;
  // Held already (every call but a host's first): no transaction for a read.
  const held = state.addressOf({ kind: "host", holder: host });
  const bridgeAddress = held ? net.pool.withPrefix(held) : ctx.store.tx(() => hostBridgeAddress(ctx.store.db, net, host));
  const localIp = ipOfAddress(self.address);
  return { bridgeAddress, vni: net.vni, mtu: net.mtu, localIp, peers: peersOf(state, localIp) };
}

interface PeerIndex {
  version: number;
  /** Every host's underlay IP, once each, sorted. */
  ips: string[];
  /** How many hosts share each IP. */
  hostsAt: Map<string, number>;
}
const peerIndexes = new WeakMap<ClusterState, PeerIndex>();

/**
 * The underlay IPs of every host but one at `localIp` (another host at the same IP stays a peer).
 * The sorted list is built once per change of the host list, not per host: pushing to every host
 * after a registration rebuilt and sorted it for each of them, O(n²) per registration.
 */
export function peersOf(state: ClusterState, localIp: string): string[] {
  let index = peerIndexes.get(state);
  if (!index || index.version !== state.hostsVersion) {
    const hostsAt = new Map<string, number>();
    for (const h of state.hosts()) {
      const ip = ipOfAddress(h.address);
      hostsAt.set(ip, (hostsAt.get(ip) ?? 0) + 1);
    }
    index = { version: state.hostsVersion, ips: [...hostsAt.keys()].sort(), hostsAt };
    peerIndexes.set(state, index);
  }
  return (index.hostsAt.get(localIp) ?? 0) > 1 ? [...index.ips] : index.ips.filter((ip) => ip !== localIp);
}

/**
 * Sends each host `which` selects (default: every host that is not down) its network. Best effort: a
 * host that misses it gets it again when it registers next, which it does after every restart or lost
 * link. A predicate, not a list: every registration pushes to all the others, and a list of 5,000
 * names searched per host made a registration storm quadratic.
 */
export async function pushNetwork(ctx: ControllerContext, which: (host: string) => boolean = () => true): Promise<void> {
  if (!ctx.network) return;
  const targets = stateOf(ctx.store.db).hosts().filter((h) => h.state !== "down" && which(h.name));
  await Promise.all(
    targets.map(async (h) => {
      const cfg = networkConfigFor(ctx, h.name);
      if (!cfg) return;
      try {
        const bridge = await ctx.agents.of(h).configureNetwork(cfg);
        ctx.log.debug({ host: h.name, bridge, address: cfg.bridgeAddress, peers: cfg.peers.length }, "network configured");
      } catch (err) {
        ctx.log.warn({ host: h.name, err: messageOf(err) }, "could not configure the host's container network");
      }
    }),
  );
}

export function networkView(ctx: ControllerContext): NetworkView {
  const net = ctx.network;
  if (!net) return { pool: "", vni: 0, mtu: 0, addresses: [], free: 0 };
  const state = stateOf(ctx.store.db);
  const addresses: AddressHolder[] = [...state.heldAddresses()].map(([address, h]) => ({
    address,
    kind: h.kind,
    holder: h.holder,
    host: h.kind === "host" ? h.holder : (state.hostOf(h.holder) ?? ""),
  }));
  addresses.sort((a, b) => ipToInt(a.address) - ipToInt(b.address));
  const inPool = addresses.filter((a) => net.pool.contains(a.address)).length;
  return { pool: net.pool.cidr, vni: net.vni, mtu: net.mtu, addresses, free: net.pool.size - inPool };
}
