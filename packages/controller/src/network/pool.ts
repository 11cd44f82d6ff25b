// The cluster's container network as numbers: an IPv4 pool (CIDR) and which of its addresses are free.
// Pure: the store keeps who holds what; this only picks and checks.
import { invalidArgument } from "@corral/wire";

export interface NetworkSettings {
  /** The pool, e.g. 10.240.0.0/16: every container's and every host bridge's address comes from it. */
  pool: Pool;
  vni: number;
  /** The bridge's and the containers' MTU: the underlay's 1500 less VXLAN's 50 bytes. */
  mtu: number;
}

export const DEFAULT_POOL = "10.240.0.0/16";
export const DEFAULT_VNI = 4242;
export const DEFAULT_MTU = 1450;

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw invalidArgument(`"${ip}" is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export const intToIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

export class Pool {
  readonly base: number;
  readonly prefix: number;
  /** The next address to try: allocation is next-fit, so a freed address is not handed out again at once. */
  private hint: number;

  constructor(readonly cidr: string) {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
    if (!m) throw invalidArgument(`network pool "${cidr}" is not a CIDR such as ${DEFAULT_POOL}`);
    this.prefix = Number(m[2]);
    if (this.prefix < 8 || this.prefix > 29) throw invalidArgument(`network pool "${cidr}": the prefix length must be between 8 and 29`);
    const ip = ipToInt(m[1]!);
    const mask = this.prefix === 0 ? 0 : (0xffffffff << (32 - this.prefix)) >>> 0;
    if ((ip & mask) >>> 0 !== ip) throw invalidArgument(`network pool "${cidr}" has host bits set (did you mean ${intToIp((ip & mask) >>> 0)}/${this.prefix}?)`);
    this.base = ip;
    this.hint = this.first;
  }

  /** Network and broadcast addresses are never handed out. */
  get first(): number {
    return this.base + 1;
  }
  get last(): number {
    return this.base + 2 ** (32 - this.prefix) - 2;
  }
  get size(): number {
    return this.last - this.first + 1;
  }

  contains(ip: string): boolean {
    const n = ipToInt(ip);
    return n >= this.first && n <= this.last;
  }

  /** The address with the pool's prefix length: what an interface is given. */
  withPrefix(ip: string): string {
    return `${ip}/${this.prefix}`;
  }

  /** A free address (per `taken`), or undefined when the pool is exhausted. */
  next(taken: (ip: string) => boolean): string | undefined {
    const span = this.size;
    for (let i = 0; i < span; i++) {
      const n = this.first + ((this.hint - this.first + i) % span);
      const ip = intToIp(n);
      if (!taken(ip)) {
        this.hint = n + 1 > this.last ? this.first : n + 1;
        return ip;
      }
    }
    return undefined;
  }
}

/** The address part of "10.240.0.5/16". */
export const addressOf = (cidr: string): string => cidr.split("/")[0] ?? cidr;
