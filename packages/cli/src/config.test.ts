import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configPath, resolveController, resolveToken } from "./config.js";

function tempHome(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "corral-cli-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeConfig(home: string, body: string): string {
  const dir = join(home, ".config", "corral");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), body);
  return join(dir, "config.json");
}

test("the flag wins over the environment, which wins over the config file", (t) => {
  const home = tempHome(t);
  writeConfig(home, JSON.stringify({ controller: "10.0.0.3:7400" }));
  const env = { HOME: home, CORRAL_CONTROLLER: "10.0.0.2:7400" };
  assert.deepEqual(resolveController("10.0.0.1:7400", env).address, "10.0.0.1:7400");
  assert.equal(resolveController(undefined, env).source, "env");
  assert.equal(resolveController(undefined, env).address, "10.0.0.2:7400");
  const fromFile = resolveController(undefined, { HOME: home });
  assert.deepEqual([fromFile.address, fromFile.source], ["10.0.0.3:7400", "config"]);
  // An empty variable counts as unset.
  assert.equal(resolveController(undefined, { HOME: home, CORRAL_CONTROLLER: "" }).address, "10.0.0.3:7400");
});

test("CORRAL_CONFIG points at another file", (t) => {
  const home = tempHome(t);
  writeConfig(home, JSON.stringify({ controller: "10.0.0.3:7400" }));
  const other = join(home, "cluster.json");
  writeFileSync(other, JSON.stringify({ controller: "10.9.9.9:7400" }));
  const env = { HOME: home, CORRAL_CONFIG: other };
  assert.equal(configPath(env), other);
  assert.equal(resolveController(undefined, env).address, "10.9.9.9:7400");
});

test("no address anywhere says how to configure one", (t) => {
  const home = tempHome(t);
  assert.throws(
    () => resolveController(undefined, { HOME: home }),
    (e: Error) =>
      e.message === "no controller configured: pass --controller, set CORRAL_CONTROLLER, or run deploy/local-cluster.sh up",
  );
  writeConfig(home, "{}");
  assert.throws(() => resolveController(undefined, { HOME: home }), /no controller configured/);
});

test("a broken config file is reported, not silently skipped", (t) => {
  const home = tempHome(t);
  const path = writeConfig(home, "{controller: nope");
  assert.throws(() => resolveController(undefined, { HOME: home }), (e: Error) => e.message.startsWith(`config file ${path} is not valid JSON`));
  writeConfig(home, JSON.stringify({ controller: 7400 }));
  assert.throws(() => resolveController(undefined, { HOME: home }), /"controller" must be a string/);
});

test("the token: --token, then CORRAL_TOKEN, then the config file's token; none is undefined", (t) => {
  const home = tempHome(t);
  assert.equal(resolveToken(undefined, { HOME: home }), undefined);
  writeConfig(home, JSON.stringify({ controller: "10.0.0.3:7400", token: " file-token " }));
  assert.deepEqual(resolveToken(undefined, { HOME: home }), { token: "file-token", source: "config" });
  assert.deepEqual(resolveToken(undefined, { HOME: home, CORRAL_TOKEN: "env-token" }), { token: "env-token", source: "env" });
  assert.deepEqual(resolveToken("flag-token", { HOME: home, CORRAL_TOKEN: "env-token" }), { token: "flag-token", source: "flag" });
  // Empty counts as unset, as for the controller address.
  assert.deepEqual(resolveToken("", { HOME: home, CORRAL_TOKEN: "" }), { token: "file-token", source: "config" });
  const path = writeConfig(home, JSON.stringify({ token: ["x"] }));
  assert.throws(() => resolveToken(undefined, { HOME: home }), {
    code: "failed_precondition",
    message: `config file ${path}: "token" must be a string (the token \`corral token create\` printed)`,
  });
});
