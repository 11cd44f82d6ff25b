// Registration with the controller, then one long-lived usage stream that is also the heartbeat.
// Reconnects with backoff for as long as the agent runs.
import type { Logger } from "pino";
import { messageOf, RegistryClient, type TlsCredentials, type UsageReport } from "@corral/wire";
import type { BackendRegistry } from "./backends/registry.js";
import { diskOf, hostInfo } from "./host-info.js";
import type { AgentConfig } from "./config.js";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
  });

export async function collectUsage(cfg: AgentConfig, registry: BackendRegistry, log: Logger): Promise<UsageReport> {
  const perBackend = await Promise.all(
    registry.available().map((b) =>
      b.usage().catch((e: Error) => {
        log.warn({ backend: b.name, err: e.message }, "usage read failed");
        return [];
      }),
    ),
  );
  return {
    host: cfg.name,
    atUnixMs: Date.now(),
    containers: perBackend.flat(),
    diskFreeBytes: (await diskOf(cfg.stateDir)).free,
  };
}

export async function runReporter(cfg: AgentConfig, tls: TlsCredentials, registry: BackendRegistry, log: Logger, signal: AbortSignal): Promise<void> {
  let backoff = 500;
  while (!signal.aborted) {
    const client = new RegistryClient(cfg.controller, tls);
    try {
      const interval = (await client.register(await hostInfo(cfg.name, cfg.advertise, cfg.stateDir, registry))) || 2000;
      log.info({ controller: cfg.controller, intervalMs: interval }, "registered with the controller");
      backoff = 500;
      async function* reports(): AsyncGenerator<UsageReport> {
        while (!signal.aborted) {
          yield await collectUsage(cfg, registry, log);
          await sleep(interval, signal);
        }
      }
      await client.reportUsage(reports());
      if (!signal.aborted) log.warn("controller ended the usage stream; registering again");
    } catch (err) {
      if (!signal.aborted) log.warn({ err: messageOf(err), retryMs: backoff }, "controller link lost");
    } finally {
      client.close();
    }
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, 5000);
  }
}
