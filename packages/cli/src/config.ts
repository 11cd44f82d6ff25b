// Where the controller is: --controller, then $CORRAL_CONTROLLER, then the config file that
// deploy/local-cluster.sh writes. The first one set wins. The bearer token is found the same way:
// --token, then $CORRAL_TOKEN, then the config file's "token".
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { messageOf, CorralError, failedPrecondition } from "@corral/wire";

export type ControllerSource = "flag" | "env" | "config";

export interface ResolvedController {
  address: string;
  source: ControllerSource;
  /** The config file consulted (also when it did not exist). */
  configPath: string;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.CORRAL_CONFIG) return env.CORRAL_CONFIG;
  return join(env.HOME || homedir(), ".config", "corral", "config.json");
}

export function resolveController(flag: string | undefined, env: NodeJS.ProcessEnv): ResolvedController {
  const path = configPath(env);
  if (flag !== undefined && flag.trim() !== "") return { address: flag.trim(), source: "flag", configPath: path };
  const fromEnv = env.CORRAL_CONTROLLER?.trim();
  if (fromEnv) return { address: fromEnv, source: "env", configPath: path };
  const fromFile = readConfig(path).controller;
  if (fromFile) return { address: fromFile, source: "config", configPath: path };
  throw failedPrecondition("no controller configured: pass --controller, set CORRAL_CONTROLLER, or run deploy/local-cluster.sh up");
}

export interface CorralConfig {
  controller?: string;
  token?: string;
  /** TLS: paths of the cluster CA certificate and of this user's client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
}

export type TokenSource = ControllerSource;

export interface ResolvedToken {
  token: string;
  source: TokenSource;
}

/** undefined when no token is given anywhere: the controller then refuses the call and says so. */
export function resolveToken(flag: string | undefined, env: NodeJS.ProcessEnv): ResolvedToken | undefined {
  if (flag !== undefined && flag.trim() !== "") return { token: flag.trim(), source: "flag" };
  const fromEnv = env.CORRAL_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: "env" };
  const fromFile = readConfig(configPath(env)).token;
  return fromFile ? { token: fromFile, source: "config" } : undefined;
}

/** A missing file is an empty config; a file that is there but unreadable is an error, not silently ignored. */
export function readConfig(path: string): CorralConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CorralError("failed_precondition", `cannot read config file ${path}: ${messageOf(err)}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CorralError("failed_precondition", `config file ${path} is not valid JSON: ${messageOf(err)}`, { cause: err });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw failedPrecondition(`config file ${path} must hold a JSON object such as {"controller":"127.0.0.1:7400"}`);
  }
  const { controller, token } = doc as Record<string, unknown>;
  if (controller !== undefined && typeof controller !== "string") {
    throw failedPrecondition(`config file ${path}: "controller" must be a string such as "127.0.0.1:7400"`);
  }
  if (token !== undefined && typeof token !== "string") {
    throw failedPrecondition(`config file ${path}: "token" must be a string (the token \`corral token create\` printed)`);
  }
  const cfg: CorralConfig = {
    ...(controller?.trim() ? { controller: controller.trim() } : {}),
    ...(token?.trim() ? { token: token.trim() } : {}),
  };
  for (const k of ["ca", "cert", "key"] as const) {
    const v = (doc as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== "string") throw failedPrecondition(`config file ${path}: "${k}" must be a file path`);
    if (v?.trim()) cfg[k] = v.trim();
  }
  return cfg;
}
