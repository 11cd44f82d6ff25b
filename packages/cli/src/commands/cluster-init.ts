import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { initClusterPki } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { configPath, readConfig } from "../config.js";

export const name = "cluster init";
export const synopsis = "Create the cluster CA, the controller's certificate and an admin credential";
export const help = `Usage: corral cluster init [--state-dir DIR] [--controller ADDR] [--json]

Run once, on the controller's machine, before the controller first starts. Writes DIR/pki/: the
cluster CA (ca.pem, ca.key), the controller's certificate (controller.pem, controller.key) and the
first admin's client certificate (admin.pem, admin.key); keys are 0600, directories 0700. Then it
writes the CLI config ($CORRAL_CONFIG or ~/.config/corral/config.json) with the controller address
and those paths, so that later commands verify the controller and prove who they are. It refuses
to overwrite a cluster that exists. Hosts join with tokens from "corral host join-token".`;
export const examples = [
  "corral cluster init --state-dir /var/lib/corral --controller 10.0.0.1:7400",
];
export const flags: FlagSpec[] = [
  { name: "state-dir", kind: "string", value: "DIR", help: "the controller's state directory (default /var/lib/corral)" },
];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const stateDir = ctx.args.string("state-dir") ?? "/var/lib/corral";
  const controller = ctx.args.string("controller") ?? ctx.io.env.CORRAL_CONTROLLER ?? "127.0.0.1:7400";
  const pki = await initClusterPki(stateDir);
  const cfgPath = configPath(ctx.io.env);
  readConfig(cfgPath); // a config that exists but is broken fails here, before it is replaced
  const previous = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>) : {};
  const config: Record<string, unknown> = { ...previous, controller, ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
  // MERGE: admin token from people — config.token = await issueAdminCredential(stateDir);
  mkdirSync(dirname(cfgPath), { recursive: true, mode: 0o700 });
  writeFileSync(cfgPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(cfgPath, 0o600); // it points at a private key: an existing file is tightened too
  const doc = { stateDir, pki: pki.dir, caFingerprint: `sha256:${pki.fingerprint}`, config: cfgPath, controller };
  if (ctx.json) return ctx.printJson(doc);
  ctx.print(`cluster CA created in ${pki.dir} (sha256:${pki.fingerprint})`);
  ctx.print(`CLI config written to ${cfgPath} (controller ${controller}, admin certificate)`);
  ctx.print(`next: corral-controller --db ${stateDir}/corral.db --state-dir ${stateDir}; then corral host join-token`);
}
