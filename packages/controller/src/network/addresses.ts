// Handing out the pool's addresses. Called inside the transaction that records the holder, against
// the in-memory state that includes every earlier allocation, so two concurrent creates never share one.
import { CorralError, invalidArgument, type ContainerSpec } from "@corral/wire";
import type { Db } from "../store/store.js";
import { stateOf } from "../store/cluster-state.js";
import { holdAddress } from "../store/addresses.js";
import { addressOf, type NetworkSettings } from "./pool.js";

/**
 * The spec with the container's address: the one asked for (it must be in the pool and free) or the
 * next free one. Without a network the spec is returned as it is. Writes nothing: the caller records
 * the container, then holdContainerAddress, in one transaction.
 */
export function chooseContainerAddress(db: Db, net: NetworkSettings | undefined, spec: ContainerSpec): ContainerSpec {
  if (!net) {
    if (spec.ipv4) throw invalidArgument(`container address ${spec.ipv4} asked for, but the controller runs without a container network`);
    return spec;
  }
  const state = stateOf(db);
  let ip: string | undefined;
  if (spec.ipv4) {
    ip = addressOf(spec.ipv4);
    if (!net.pool.contains(ip)) throw invalidArgument(`address ${ip} is not in the container network ${net.pool.cidr}`);
    const holder = state.holderOf(ip);
    if (holder) throw new CorralError("already_exists", `address ${ip} is held by ${holder.kind} ${holder.holder}`);
  } else {
    ip = net.pool.next((a) => state.holderOf(a) !== undefined);
    if (!ip) throw new CorralError("resource_exhausted", `the container network ${net.pool.cidr} has no free address left`);
  }
  return { ...spec, ipv4: net.pool.withPrefix(ip) };
}

/** Records the address chooseContainerAddress put in the spec (none: nothing to record). */
export function holdContainerAddress(db: Db, spec: ContainerSpec): void {
  if (spec.ipv4) holdAddress(db, addressOf(spec.ipv4), { kind: "container", holder: spec.name });
}

/** A host's bridge address (CIDR), allocated the first time the host is seen. */
export function hostBridgeAddress(db: Db, net: NetworkSettings, host: string): string {
  const state = stateOf(db);
  let ip = state.addressOf({ kind: "host", holder: host });
  if (!ip) {
    ip = net.pool.next((a) => state.holderOf(a) !== undefined);
    if (!ip) throw new CorralError("resource_exhausted", `the container network ${net.pool.cidr} has no free address left for host ${host}'s bridge`);
    holdAddress(db, ip, { kind: "host", holder: host });
  }
  return net.pool.withPrefix(ip);
}
