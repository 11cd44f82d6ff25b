// What every bench section shares: the cluster, a controller client, the hosts' namespaces and
// paths, and a record of everything the bench made so that a failure still leaves nothing behind.
import { ControllerClient, type BackendName, type Container, type ContainerSpec } from "@corral/wire";
import type { TestCluster } from "../support/cluster.js";

export const SOURCE = "host1";
export const TARGET = "host2";

export interface BenchOptions {
  iterations: number;
  only: Set<string> | undefined;
}

export class BenchContext {
  readonly client: ControllerClient;
  /** Corral containers not yet removed: name → backend. */
  readonly corral = new Map<string, BackendName>();
  /** Undo steps for what the baselines made outside Corral, run in reverse at the end. */
  private readonly deferred: [string, () => Promise<unknown>][] = [];

  constructor(
    readonly cluster: TestCluster,
    readonly opts: BenchOptions,
  ) {
    this.client = new ControllerClient(cluster.controller, cluster.adminTls());
  }

  wants(section: string): boolean {
    return !this.opts.only || this.opts.only.has(section);
  }

  ns(host: string): string {
    return `${this.cluster.env.CORRAL_NS_PREFIX}${host.replace(/^host/, "")}`;
  }

  lxcPath(host: string): string {
    return `${this.cluster.hostDir(host)}/lxc`;
  }

  dockerSocket(host: string): string {
    return `${this.cluster.hostDir(host)}/docker/docker.sock`;
  }

  async create(spec: Partial<ContainerSpec> & Pick<ContainerSpec, "name" | "backend">, host: string): Promise<Container> {
    const full: ContainerSpec = { template: "", image: "", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {}, ...spec };
    this.corral.set(full.name, full.backend);
    return this.client.create({ spec: full, host, start: true });
  }

  async remove(name: string): Promise<void> {
    await this.client.remove(name, true);
    this.corral.delete(name);
  }

  /** Runs a command in a container through the controller; throws with its stderr on a non-zero exit. */
  async exec(name: string, argv: string[]): Promise<string> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let code = -1;
    for await (const o of this.client.exec(name, argv)) {
      if (o.kind === "stdout") out.push(o.data);
      else if (o.kind === "stderr") err.push(o.data);
      else code = o.code;
    }
    if (code !== 0) throw new Error(`exec in ${name} exited ${code}: ${Buffer.concat(err).toString().trim()}`);
    return Buffer.concat(out).toString();
  }

  defer(what: string, undo: () => Promise<unknown>): void {
    this.deferred.push([what, undo]);
  }

  /** Removes every Corral container the bench still holds, then runs the deferred undos; never throws. */
  async cleanUp(): Promise<void> {
    for (const name of [...this.corral.keys()]) {
      await this.remove(name).catch((e: Error) => console.error(`cleanup: cannot remove ${name}: ${e.message}`));
    }
    for (const [what, undo] of this.deferred.splice(0).reverse()) {
      await undo().catch((e: Error) => console.error(`cleanup: ${what}: ${e.message}`));
    }
  }

  close(): void {
    this.client.close();
  }
}
