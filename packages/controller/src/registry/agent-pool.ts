// One AgentClient per host, recreated when the host registers from a new address.
import { AgentClient, notFound, unavailable, type Host, type TlsCredentials } from "@corral/wire";
import type { Store } from "../store/store.js";
import { getHost, listHosts } from "../store/hosts.js";

export class AgentPool {
  private readonly clients = new Map<string, AgentClient>();

  /** `tls`: the controller's own credentials; each agent must prove it is the host it is dialled as. */
  constructor(
    private readonly store: Store,
    private readonly tls: TlsCredentials,
  ) {}

  ensure(host: string, address: string): AgentClient {
    const existing = this.clients.get(host);
    if (existing && existing.address === address) return existing;
    existing?.close();
    const client = new AgentClient(address, this.tls, { kind: "host", name: host }, `agent on ${host} (${address})`);
    this.clients.set(host, client);
    return client;
  }

  /**
   * A new channel to a host's agent. A grpc channel that failed (a cached ECONNREFUSED while the
   * agent was down) can keep failing after the agent is back; retries start from a fresh one.
   */
  renew(host: Pick<Host, "name" | "address">): AgentClient {
    this.clients.get(host.name)?.close();
    this.clients.delete(host.name);
    return this.ensure(host.name, host.address);
  }

  /** The agent of a host that must be reachable now: unknown → not_found, down → unavailable. */
  forHost(name: string): AgentClient {
    const host = getHost(this.store.db, name);
    if (!host) {
      const known = listHosts(this.store.db).map((h) => h.name).join(", ") || "none";
      throw notFound(`host "${name}" not found (known: ${known})`);
    }
    if (host.state === "down") throw unavailable(`host ${name} is down`);
    return this.ensure(host.name, host.address);
  }

  /** Any host's agent, even a down one (cleanup retries, rollback attempts). */
  of(host: Pick<Host, "name" | "address">): AgentClient {
    return this.ensure(host.name, host.address);
  }

  /** A removed host: close and drop its client. */
  forget(host: string): void {
    this.clients.get(host)?.close();
    this.clients.delete(host);
  }

  closeAll(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
