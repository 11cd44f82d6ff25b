import pino from "pino";
import { CorralError } from "@corral/wire";
import { parseAgentConfig } from "./config.js";
import { startAgent } from "./agent.js";

async function main(): Promise<void> {
  const cfg = parseAgentConfig(process.argv.slice(2));
  const log = pino({ level: cfg.logLevel, base: { host: cfg.name } });
  // A bug must not kill the agent silently: say what happened, then exit so the supervisor restarts it.
  const fatal = (kind: string) => (err: unknown) => {
    log.fatal({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, `${kind}; exiting`);
    process.exit(70);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled promise rejection"));
  const agent = await startAgent(cfg, log);
  const shutdown = (sig: string) => {
    log.info({ sig }, "shutting down");
    setTimeout(() => process.exit(0), 3000).unref();
    void agent.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  const msg = err instanceof CorralError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`corral-agent: ${msg}\n`);
  process.exit(1);
});
