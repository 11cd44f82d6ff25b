// corral-controller: flags → startController; SIGTERM/SIGINT shut down gracefully.
import { messageOf } from "@corral/wire";
import { parseConfig, USAGE } from "./config.js";
import { startController } from "./controller.js";
import { issueAdminToken } from "./auth/first-admin.js";

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`corral-controller: ${messageOf(err)}\n${USAGE}`);
    process.exit(2);
  }
  if (cfg === "help") {
    process.stdout.write(USAGE);
    return;
  }
  if (cfg.issueAdminToken) {
    process.stdout.write(`${issueAdminToken(cfg.db)}\n`);
    return;
  }
  const controller = await startController({
    listen: cfg.listen,
    db: cfg.db,
    stateDir: cfg.stateDir,
    nats: cfg.nats,
    reportIntervalMs: cfg.reportIntervalMs,
    heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
    scheduler: cfg.scheduler,
    logLevel: cfg.logLevel,
    metricsListen: cfg.metricsListen,
    network: cfg.networkPool ? { pool: cfg.networkPool, vni: cfg.networkVni, mtu: cfg.networkMtu } : undefined,
  });
  const stop = () => {
    controller.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  const msg = messageOf(err);
  process.stderr.write(`corral-controller: ${msg}\n`);
  process.exit(1);
});
