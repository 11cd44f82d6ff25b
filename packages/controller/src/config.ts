// Controller settings from flags and an optional JSON file (same keys, camelCase). Flags win.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { dirname } from "node:path";

import { messageOf, invalidArgument, parseListen } from "@corral/wire";
import type { Algorithm } from "./scheduler/index.js";
import { DEFAULT_MTU, DEFAULT_POOL, DEFAULT_VNI, Pool } from "./network/pool.js";

export interface ControllerConfig {
  listen: string;
  db: string;
  stateDir: string;
  nats: string | undefined;
  reportIntervalMs: number;
  heartbeatTimeoutMs: number;
  logLevel: string;
  scheduler: Algorithm;
  /** HOST:PORT for plain-HTTP Prometheus /metrics; undefined serves none. */
  metricsListen?: string;
  /** The container network's pool, CIDR; undefined ("none"): containers get no address. */
  networkPool: string | undefined;
  networkVni: number;
  networkMtu: number;
  /** --issue-admin-token: print a new admin token and exit instead of serving. */
  issueAdminToken: boolean;
}

export const USAGE = `usage: corral-controller --db FILE [options]

  --listen ADDR               gRPC address for the CLI and the agents (default 0.0.0.0:7400)
  --db FILE                   SQLite state file (created if missing)
  --state-dir DIR             holds pki/ from "corral cluster init" (default: the directory of --db)
  --nats URL                  NATS server(s) for events, comma-separated (default: events stay in the outbox)
  --report-interval-ms N      how often agents report usage (default 2000)
  --heartbeat-timeout-ms N    a host silent this long is marked down (default 10000)
  --scheduler binpack|spread  placement strategy (default binpack)
  --metrics-listen ADDR       serve Prometheus metrics over plain HTTP at http://ADDR/metrics (default: none)
  --network-pool CIDR         addresses for containers and host bridges, one VXLAN overlay (default 10.240.0.0/16;
                              "none": containers get no network)
  --network-vni N             the overlay's VXLAN id (default 4242)
  --network-mtu N             bridge and container MTU (default 1450: 1500 less VXLAN's 50 bytes)
  --log-level LEVEL           trace|debug|info|warn|error (default info)
  --config FILE               JSON file with the same settings in camelCase; flags override it
  --issue-admin-token         create an admin token in --db, print it alone on stdout and exit
                              (the first token of a new cluster, or a replacement for a lost one)
`;

const DEFAULTS = {
  listen: "0.0.0.0:7400",
  reportIntervalMs: 2000,
  heartbeatTimeoutMs: 10_000,
  logLevel: "info",
  scheduler: "binpack" as Algorithm,
};

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function parseConfig(argv: string[]): ControllerConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: "string" },
      db: { type: "string" },
      "state-dir": { type: "string" },
      nats: { type: "string" },
      "report-interval-ms": { type: "string" },
      "heartbeat-timeout-ms": { type: "string" },
      scheduler: { type: "string" },
      "log-level": { type: "string" },
      "metrics-listen": { type: "string" },
      "network-pool": { type: "string" },
      "network-vni": { type: "string" },
      "network-mtu": { type: "string" },
      config: { type: "string" },
      "issue-admin-token": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const file = values.config ? readConfigFile(values.config) : {};
  const pick = (flag: string | undefined, key: string) => flag ?? (file[key] === undefined ? undefined : String(file[key]));
  const db = pick(values.db, "db");
  if (!db) throw invalidArgument("--db is required");
  const cfg: ControllerConfig = {
    listen: pick(values.listen, "listen") ?? DEFAULTS.listen,
    db,
    stateDir: pick(values["state-dir"], "stateDir") ?? dirname(db),
    nats: pick(values.nats, "nats") || undefined,
    reportIntervalMs: positiveInt("--report-interval-ms", pick(values["report-interval-ms"], "reportIntervalMs"), DEFAULTS.reportIntervalMs),
    heartbeatTimeoutMs: positiveInt("--heartbeat-timeout-ms", pick(values["heartbeat-timeout-ms"], "heartbeatTimeoutMs"), DEFAULTS.heartbeatTimeoutMs),
    logLevel: pick(values["log-level"], "logLevel") ?? DEFAULTS.logLevel,
    scheduler: (pick(values.scheduler, "scheduler") ?? DEFAULTS.scheduler) as Algorithm,
    issueAdminToken: values["issue-admin-token"] === true,
    networkPool: networkPool(pick(values["network-pool"], "networkPool")),
    networkVni: positiveInt("--network-vni", pick(values["network-vni"], "networkVni"), DEFAULT_VNI),
    networkMtu: positiveInt("--network-mtu", pick(values["network-mtu"], "networkMtu"), DEFAULT_MTU),
  };
  if (cfg.networkVni > 16_777_215) throw invalidArgument(`invalid --network-vni ${cfg.networkVni}: a VXLAN id is at most 16777215`);
  if (cfg.networkMtu < 576 || cfg.networkMtu > 9000) throw invalidArgument(`invalid --network-mtu ${cfg.networkMtu}: expected 576..9000`);
  if (!LOG_LEVELS.includes(cfg.logLevel)) throw invalidArgument(`invalid --log-level "${cfg.logLevel}": expected one of ${LOG_LEVELS.join(", ")}`);
  if (cfg.scheduler !== "binpack" && cfg.scheduler !== "spread") throw invalidArgument(`invalid --scheduler "${String(cfg.scheduler)}": expected binpack or spread`);
  // Only present when given, so a config without metrics reads as it always did.
  const metricsListen = pick(values["metrics-listen"], "metricsListen");
  if (metricsListen) cfg.metricsListen = parseListen("--metrics-listen", metricsListen) && metricsListen;
  if (!/^.+:\d+$/.test(cfg.listen)) throw invalidArgument(`invalid --listen "${cfg.listen}": expected HOST:PORT`);
  return cfg;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw invalidArgument(`cannot read config file ${path}: ${messageOf(err)}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`config file ${path} is not valid JSON: ${messageOf(err)}`);
  }
}

/** "none" turns the network off; anything else must parse as a pool (checked here, at start-up). */
function networkPool(text: string | undefined): string | undefined {
  if (text === "none") return undefined;
  const cidr = text ?? DEFAULT_POOL;
  new Pool(cidr);
  return cidr;
}

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument(`invalid ${flag} "${text}": expected a positive integer`);
  return n;
}
