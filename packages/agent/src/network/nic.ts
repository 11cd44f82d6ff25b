// What a container's one network interface is on this host: its address, the bridge it hangs on, the
// gateway (this host's bridge address) and the MTU. Backends turn it into their own config keys.
import { invalidArgument } from "@corral/wire";

export interface Nic {
  /** CIDR, "10.240.0.5/16". */
  address: string;
  /** "10.240.0.5". */
  ip: string;
  gateway: string;
  bridge: string;
  mtu: number;
  /**
   * Derived from the address, so a container keeps its MAC across hosts and peers' ARP caches stay
   * right after a migration (0a:58 is locally administered, as Kubernetes' bridge plugins use).
   */
  mac: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Checks a CIDR from the wire ("10.240.0.5/16") and splits it. */
export function parseCidr(cidr: string): { ip: string; prefix: number } {
  const [ip = "", prefix = ""] = cidr.split("/");
  const p = Number(prefix);
  if (!IPV4.test(ip) || !/^\d{1,2}$/.test(prefix) || p < 1 || p > 32) throw invalidArgument(`"${cidr}" is not an IPv4 address with a prefix length`);
  return { ip, prefix: p };
}

export function macOf(ip: string): string {
  return ["0a", "58", ...ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))].join(":");
}
