// The controller's side of the container network: each host's bridge address and its peers, pushed
// to the agents (on registration, and to every host whenever the host list changes); and the view
// `corral network show` prints.
import { messageOf, type AddressHolder, type HostNetworkConfig, type NetworkView } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { stateOf } from "../store/cluster-state.js";
import { listHosts } from "../store/hosts.js";
import { hostBridgeAddress } from "./addresses.js";
import { ipToInt } from "./pool.js";

/** The host part of "10.77.0.11:7401" (the underlay address the controller reaches the agent at). */
const ipOfAddress = (address: string): string => address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");

/** What `host` must apply; allocates its bridge address on first use (in a transaction). */
export function networkConfigFor(ctx: ControllerContext, host: string): HostNetworkConfig | undefined {
  const net = ctx.network;
  if (!net) return undefined;
  const hosts = listHosts(ctx.store.db);
  const self = hosts.find((h) => h.name === host);
  if (!self) return undefined;
  const bridgeAddress = ctx.store.tx(() => hostBridgeAddress(ctx.store.db, net, host));
  const peers = hosts.filter((h) => h.name !== host).map((h) => ipOfAddress(h.address));
  return { bridgeAddress, vni: net.vni, mtu: net.mtu, localIp: ipOfAddress(self.address), peers: [...new Set(peers)].sort() };
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
