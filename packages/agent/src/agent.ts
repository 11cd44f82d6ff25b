// Wires one agent together: backends probed once, stale staging removed, gRPC served, and (unless
// told otherwise) registration plus the usage/heartbeat stream to the controller.
import { Server } from "@grpc/grpc-js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { AgentServiceDefinition, agentServiceImplementation, messageOf, SERVER_OPTIONS, serveMetrics, serverCredentials } from "@corral/wire";
import { AgentMetrics } from "./metrics/agent-metrics.js";
import type { AgentConfig } from "./config.js";
import type { Backend } from "./backends/backend.js";
import { BackendRegistry } from "./backends/registry.js";
import { configuredBackends } from "./backends/configured.js";
import { ReceiveManager, type ReceiveOptions } from "./transfer/receiver.js";
import { listenData } from "./transfer/data-link.js";
import { dataConnectionHandler } from "./transfer/data-receive.js";
import { agentHandlers } from "./server/agent-handlers.js";
import { collectUsage, runReporter } from "./reporter.js";
import { hostCredentials } from "./join.js";
import { HostNetwork } from "./network/host-network.js";

export interface RunningAgent {
  /** The bound address (useful with port 0). */
  address: string;
  registry: BackendRegistry;
  /** http://HOST:PORT/metrics when --metrics-listen was given. */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

export async function startAgent(
  cfg: AgentConfig,
  log: Logger,
  opts: { report?: boolean; backends?: Backend[]; receive?: Partial<ReceiveOptions>; network?: HostNetwork } = {},
): Promise<RunningAgent> {
  await mkdir(cfg.stateDir, { recursive: true });
  // Before anything else: a host without its certificate can serve nothing and register nowhere.
  const tls = await hostCredentials(cfg, log);
  const registry = new BackendRegistry(cfg.name);
  // Before the backends: a restart puts the bridge, overlay and published ports back first.
  const network = opts.network ?? new HostNetwork(cfg.stateDir, log.child({ part: "network" }), { bridgePorts: cfg.bridgePorts, hostName: cfg.name });
  await network.restore();
  await registry.probeAll(opts.backends ?? configuredBackends(cfg, log, network));
  for (const b of registry.infos()) log.info(b, b.available ? "backend available" : "backend unavailable");
  const receiver = new ReceiveManager(registry, join(cfg.stateDir, "receives"), log, { hostName: cfg.name, ...opts.receive });
  await receiver.cleanupStaging();

  const server = new Server(SERVER_OPTIONS);
  const port = await new Promise<number>((resolve, reject) =>
    // Client certificates required at the handshake: only the controller and peer hosts get in.
    server.bindAsync(cfg.listen, serverCredentials(tls, "required"), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = cfg.listen.replace(/:\d+$/, `:${port}`);
  const effective = { ...cfg, advertise: cfg.advertise.endsWith(":0") ? address : cfg.advertise };
  // Bulk migration bytes from peer agents: a port of its own beside gRPC, on the same address.
  const data = await listenData(cfg.listen.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1"), tls, dataConnectionHandler(receiver), (err) =>
    log.warn({ err: messageOf(err) }, "data connection failed"),
  ).catch((err: unknown) => {
    server.forceShutdown();
    throw err;
  });
  const dataAddress = effective.advertise.replace(/:\d+$/, `:${data.port}`);
  server.addService(AgentServiceDefinition, agentServiceImplementation(agentHandlers(effective, registry, receiver, log, tls, network, dataAddress)));
  log.info({ listen: address, advertise: effective.advertise, data: dataAddress }, "agent serving");

  const metrics = cfg.metricsListen
    ? await serveMetrics(cfg.metricsListen, new AgentMetrics(() => collectUsage(effective, registry, log)).registry, (err) =>
        log.warn({ err: messageOf(err) }, "metrics collection failed"),
      ).catch((err: unknown) => {
        server.forceShutdown();
        void data.close();
        throw err;
      })
    : undefined;
  if (metrics) log.info({ url: metrics.url }, "metrics serving");
  const stop = new AbortController();
  const reporter = opts.report === false ? Promise.resolve() : runReporter(effective, tls, registry, log, stop.signal);
  return {
    address,
    registry,
    metricsUrl: metrics?.url,
    async close() {
      stop.abort();
      receiver.close();
      await reporter;
      await metrics?.close();
      await data.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
    },
  };
}
