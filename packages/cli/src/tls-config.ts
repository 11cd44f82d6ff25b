// The CLI's transport credentials: the cluster CA that the controller's certificate must chain to,
// and the user's client certificate and key. From $CORRAL_CA / $CORRAL_CERT / $CORRAL_KEY, else the
// config file that `corral cluster init` writes. Relative paths are relative to that file.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { failedPrecondition, messageOf, type ClientTls } from "@corral/wire";
import { configPath, readConfig } from "./config.js";

export function resolveClientTls(env: NodeJS.ProcessEnv): ClientTls {
  const path = configPath(env);
  const file = readConfig(path);
  const pick = (envName: string, key: "ca" | "cert" | "key") => {
    const fromEnv = env[envName]?.trim();
    if (fromEnv) return { path: fromEnv, from: `$${envName}` };
    const fromFile = file[key];
    return fromFile ? { path: resolve(dirname(path), fromFile), from: `"${key}" in ${path}` } : undefined;
  };
  const ca = pick("CORRAL_CA", "ca");
  if (!ca) {
    throw failedPrecondition(`no cluster CA configured: run "corral cluster init" on the controller (it writes ${path}) or set CORRAL_CA to the CA certificate file`);
  }
  const cert = pick("CORRAL_CERT", "cert");
  const key = pick("CORRAL_KEY", "key");
  if (!cert !== !key) throw failedPrecondition("a client certificate needs its key and a key its certificate: set both CORRAL_CERT and CORRAL_KEY (or both in the config file)");
  return { ca: readPemFile(ca), ...(cert && key ? { cert: readPemFile(cert), key: readPemFile(key) } : {}) };
}

function readPemFile(src: { path: string; from: string }): string {
  try {
    return readFileSync(src.path, "utf8");
  } catch (err) {
    throw failedPrecondition(`cannot read ${src.path} (from ${src.from}): ${messageOf(err)}`, err);
  }
}
