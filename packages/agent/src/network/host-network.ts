// This host's part of the cluster network (docs/network.md): one bridge, joined to the other hosts'
// bridges by a kernel VXLAN device with one flood entry per peer (as flannel's vxlan backend and
// Docker's overlay do); containers hang on the bridge with the controller's addresses. Published ports
// of LXC, LXD and OpenVZ containers are DNAT rules in one chain; Docker publishes its own.
// The config the controller pushed and the containers attached here are kept in the state directory,
// so an agent that restarts puts everything back before the controller calls again.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import type { Logger } from "pino";
import { failedPrecondition, invalidArgument, messageOf, type BackendName, type ContainerSpec, type HostNetworkConfig, type PortMapping } from "@corral/wire";
import { run } from "../process/run.js";
import { bridgeTool, ensureChain, ensureRule, ip, iptables, linkExists, links } from "./net-tools.js";
import { macOf, parseCidr, type Nic } from "./nic.js";

export interface HostNetworkOptions {
  /** The bridge every container hangs on (default corral0). */
  bridge?: string;
  /** The VXLAN device (default corralvx0). */
  vxlan?: string;
  /** More links to put on the bridge: the uplink to an LXD daemon in another network namespace. */
  bridgePorts?: string[];
  /** For messages: "port 80/tcp is already published on host2". */
  hostName?: string;
}

/** What the agent remembers of a container on this host: its address and the ports it publishes. */
export interface Attachment {
  name: string;
  backend: BackendName;
  ipv4: string;
  ports: PortMapping[];
}

const VXLAN_PORT = 4789;
const PORTS_CHAIN = "CORRAL-PORTS";
/** Backends whose ports are DNAT rules here; Docker publishes its own (docker-proxy and its rules). */
const DNAT_BACKENDS: ReadonlySet<BackendName> = new Set(["lxc", "lxd", "openvz"]);

export class HostNetwork {
  readonly bridge: string;
  private readonly vxlan: string;
  private readonly bridgePorts: string[];
  private readonly dir: string;
  private readonly hostName: string;
  private config: HostNetworkConfig | undefined;
  private readonly attachments = new Map<string, Attachment>();
  /** Every change runs after the one before it: config pushes and attachments never interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly log: Logger,
    opts: HostNetworkOptions = {},
  ) {
    this.bridge = opts.bridge ?? "corral0";
    this.vxlan = opts.vxlan ?? "corralvx0";
    this.bridgePorts = opts.bridgePorts ?? [];
    this.dir = join(stateDir, "network");
    this.hostName = opts.hostName ?? "this host";
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** At agent start: what was applied before is applied again (the controller re-sends it on registration). */
  async restore(): Promise<void> {
    const cfg = await readJson<HostNetworkConfig>(join(this.dir, "config.json"));
    for (const a of (await readJson<Attachment[]>(join(this.dir, "attachments.json"))) ?? []) this.attachments.set(a.name, a);
    if (!cfg) return;
    try {
      await this.configure(cfg);
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, "could not restore the container network; waiting for the controller");
    }
  }

  get configured(): HostNetworkConfig | undefined {
    return this.config;
  }

  /** Applies the controller's view; running it twice changes nothing. Returns the bridge's name. */
  configure(cfg: HostNetworkConfig): Promise<string> {
    checkConfig(cfg);
    return this.serial(async () => {
      await this.applyBridge(cfg);
      await this.applyVxlan(cfg);
      await this.applyFirewall(cfg);
      this.config = cfg;
      await this.save("config.json", cfg);
      await this.syncPorts();
      this.log.info({ bridge: this.bridge, address: cfg.bridgeAddress, peers: cfg.peers }, "container network configured");
      return this.bridge;
    });
  }

  /** The interface a container with this address gets here; refused until the controller has configured the network. */
  nic(ipv4: string): Nic {
    const cfg = this.config;
    if (!cfg) throw failedPrecondition("this host's container network is not configured yet (the controller sends it when the agent registers)");
    const { ip: addr } = parseCidr(ipv4);
    const { ip: gateway } = parseCidr(cfg.bridgeAddress);
    return { address: ipv4, ip: addr, gateway, bridge: this.bridge, mtu: cfg.mtu, mac: macOf(addr) };
  }

  /** The host's own address, where ports are published; "" before the network is configured. */
  get hostIp(): string {
    return this.config?.localIp ?? "";
  }

  attachment(name: string): Attachment | undefined {
    return this.attachments.get(name);
  }

  /**
   * Refuses ports this host cannot publish for `spec`: one another container here publishes, or one
   * something already listens on. Ports of LXC, LXD and OpenVZ need the container network (they are
   * forwarded to the container's address).
   */
  async checkPorts(spec: ContainerSpec, exists: (a: Attachment) => Promise<boolean> = async () => true): Promise<void> {
    if (spec.ports.length === 0) return;
    if (DNAT_BACKENDS.has(spec.backend) && !spec.ipv4) {
      throw failedPrecondition(`publishing ports of a ${spec.backend} container needs the cluster network, and the controller gave "${spec.name}" no address`);
    }
    const seen = new Set<string>();
    for (const p of spec.ports) {
      const key = `${p.hostPort}/${p.protocol}`;
      if (seen.has(key)) throw invalidArgument(`port ${key} is published twice`);
      seen.add(key);
      for (const a of this.attachments.values()) {
        if (a.name === spec.name) continue;
        if (a.ports.some((q) => q.hostPort === p.hostPort && q.protocol === p.protocol)) {
          // A container removed while this agent was away still holds its ports here: let them go.
          if (!(await exists(a))) {
            await this.detach(a.name);
            continue;
          }
          throw failedPrecondition(`port ${key} is already published on ${this.hostName} by container "${a.name}"`);
        }
      }
      if (!this.attachments.has(spec.name) && !(await portFree(p, this.hostIp))) {
        throw failedPrecondition(`port ${key} is already in use on ${this.hostName}${this.hostIp ? ` (${this.hostIp})` : ""}`);
      }
    }
  }

  /** Records a container placed or restored here, and publishes its ports (DNAT backends). */
  attach(spec: ContainerSpec): Promise<void> {
    if (!spec.ipv4 && spec.ports.length === 0) return Promise.resolve();
    return this.serial(async () => {
      this.attachments.set(spec.name, { name: spec.name, backend: spec.backend, ipv4: spec.ipv4 ?? "", ports: spec.ports });
      await this.save("attachments.json", [...this.attachments.values()]);
      await this.syncPorts();
    });
  }

  detach(name: string): Promise<void> {
    if (!this.attachments.has(name)) return Promise.resolve();
    return this.serial(async () => {
      this.attachments.delete(name);
      await this.save("attachments.json", [...this.attachments.values()]);
      await this.syncPorts();
    });
  }

  /**
   * A started container says where it is: one gratuitous ARP from inside its network namespace
   * (busybox arping of the host, so the image needs no tools). Every peer's VXLAN device learns the
   * MAC's new host at once, which after a migration is what makes the old address answer again.
   */
  async announce(initPid: number, ipv4: string): Promise<void> {
    if (initPid <= 0 || !ipv4) return;
    const { ip: addr } = parseCidr(ipv4);
    const r = await run("nsenter", ["-t", String(initPid), "-n", "busybox", "arping", "-U", "-c", "1", "-I", "eth0", addr], { timeoutMs: 5000 }).catch(
      (err: unknown) => ({ code: 1, stdout: "", stderr: messageOf(err) }),
    );
    if (r.code !== 0) this.log.debug({ pid: initPid, ipv4, err: r.stderr.trim() }, "gratuitous ARP failed");
  }

  // ---- applying ----

  private async applyBridge(cfg: HostNetworkConfig): Promise<void> {
    if (!(await linkExists(this.bridge))) await ip("link", "add", this.bridge, "type", "bridge");
    await ip("link", "set", this.bridge, "mtu", String(cfg.mtu));
    const [br] = await links(this.bridge);
    const want = parseCidr(cfg.bridgeAddress);
    for (const a of br?.addr_info ?? []) {
      if (a.family === "inet" && (a.local !== want.ip || a.prefixlen !== want.prefix)) await ip("addr", "del", `${a.local}/${a.prefixlen}`, "dev", this.bridge);
    }
    if (!(br?.addr_info ?? []).some((a) => a.family === "inet" && a.local === want.ip && a.prefixlen === want.prefix)) {
      await ip("addr", "add", cfg.bridgeAddress, "dev", this.bridge);
    }
    await ip("link", "set", this.bridge, "up");
    for (const port of this.bridgePorts) {
      if (!(await linkExists(port))) {
        this.log.warn({ link: port }, "bridge port not found; not attached");
        continue;
      }
      await ip("link", "set", port, "mtu", String(cfg.mtu), "master", this.bridge, "up");
    }
    // Forwarding is per network namespace; DNAT to the containers needs it.
    await writeFile("/proc/sys/net/ipv4/ip_forward", "1").catch((err: unknown) => this.log.warn({ err: messageOf(err) }, "cannot enable IPv4 forwarding"));
  }

  private async applyVxlan(cfg: HostNetworkConfig): Promise<void> {
    const all = await links();
    const underlay = all.find((l) => (l.addr_info ?? []).some((a) => a.family === "inet" && a.local === cfg.localIp));
    if (!underlay) throw failedPrecondition(`no interface of this host has the address ${cfg.localIp} the controller reaches it at`);
    const existing = all.find((l) => l.ifname === this.vxlan);
    const info = existing?.linkinfo?.info_data;
    if (existing && (existing.linkinfo?.info_kind !== "vxlan" || info?.id !== cfg.vni || info?.local !== cfg.localIp || info?.port !== VXLAN_PORT)) {
      await ip("link", "del", this.vxlan);
    }
    if (!existing || !(await linkExists(this.vxlan))) {
      await ip("link", "add", this.vxlan, "type", "vxlan", "id", String(cfg.vni), "dstport", String(VXLAN_PORT), "local", cfg.localIp, "dev", underlay.ifname);
    }
    await ip("link", "set", this.vxlan, "mtu", String(cfg.mtu), "master", this.bridge, "up");
    // Head-end replication: broadcast and unknown frames go to every peer; unicast MACs are learned.
    const fdb = JSON.parse((await bridgeTool("-j", "fdb", "show", "dev", this.vxlan)) || "[]") as { mac: string; dst?: string }[];
    const have = new Set(fdb.filter((e) => e.mac === "00:00:00:00:00:00" && e.dst).map((e) => e.dst!));
    for (const peer of cfg.peers) if (!have.has(peer)) await bridgeTool("fdb", "append", "00:00:00:00:00:00", "dev", this.vxlan, "dst", peer);
    for (const gone of have) if (!cfg.peers.includes(gone)) await bridgeTool("fdb", "del", "00:00:00:00:00:00", "dev", this.vxlan, "dst", gone);
  }

  private async applyFirewall(cfg: HostNetworkConfig): Promise<void> {
    // dockerd sets FORWARD to DROP (recipes, trap 3): let the bridge's traffic and the DNAT'd ports through.
    await ensureRule("filter", "FORWARD", "-I", ["-i", this.bridge, "-j", "ACCEPT"]);
    await ensureRule("filter", "FORWARD", "-I", ["-o", this.bridge, "-j", "ACCEPT"]);
    // Containers reach beyond the cluster network as this host.
    await ensureRule("nat", "POSTROUTING", "-A", ["-s", networkOf(cfg.bridgeAddress), "!", "-o", this.bridge, "-j", "MASQUERADE"]);
    await ensureChain("nat", PORTS_CHAIN);
    for (const chain of ["PREROUTING", "OUTPUT"]) {
      await ensureRule("nat", chain, "-I", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", PORTS_CHAIN]);
    }
  }

  /** Rewrites the DNAT chain from the attachments: one rule per published port of a DNAT backend. */
  private async syncPorts(): Promise<void> {
    const cfg = this.config;
    if (!cfg) return;
    await iptables("-t", "nat", "-F", PORTS_CHAIN);
    for (const a of this.attachments.values()) {
      if (!DNAT_BACKENDS.has(a.backend) || !a.ipv4) continue;
      const { ip: addr } = parseCidr(a.ipv4);
      for (const p of a.ports) {
        await iptables("-t", "nat", "-A", PORTS_CHAIN, "-d", cfg.localIp, "-p", p.protocol, "--dport", String(p.hostPort),
          "-m", "comment", "--comment", `corral:${a.name}`, "-j", "DNAT", "--to-destination", `${addr}:${p.containerPort}`);
      }
    }
  }

  private async save(file: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, file);
    await writeFile(`${path}.tmp`, JSON.stringify(value, null, 1));
    await rename(`${path}.tmp`, path);
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** "10.240.0.1/16" → "10.240.0.0/16". */
export function networkOf(cidr: string): string {
  const { ip: addr, prefix } = parseCidr(cidr);
  const n = addr.split(".").reduce((v, o) => v * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".")}/${prefix}`;
}

/** What the controller sent is input from the network: checked before any of it reaches a command line. */
function checkConfig(cfg: HostNetworkConfig): void {
  parseCidr(cfg.bridgeAddress);
  for (const a of [cfg.localIp, ...cfg.peers]) parseCidr(`${a}/32`);
  if (!Number.isInteger(cfg.vni) || cfg.vni < 1 || cfg.vni > 16_777_215) throw invalidArgument(`VXLAN id ${cfg.vni} is out of range`);
  if (!Number.isInteger(cfg.mtu) || cfg.mtu < 576 || cfg.mtu > 9000) throw invalidArgument(`MTU ${cfg.mtu} is out of range`);
}

/** True when nothing listens on the port at `host` (any address when "" ). */
function portFree(p: PortMapping, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (p.protocol === "udp") {
      const s = createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(p.hostPort, host || undefined, () => s.close(() => resolve(true)));
      return;
    }
    const srv: Server = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(p.hostPort, host || undefined, () => srv.close(() => resolve(true)));
  });
}
