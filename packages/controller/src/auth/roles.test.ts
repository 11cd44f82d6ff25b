// Fail closed needs a complete table: every RPC of ControllerService has a role, and the table
// names no RPC the service lacks (a renamed RPC would otherwise be refused to everyone).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ControllerServiceDefinition, rpcNames } from "@corral/wire";
import { RPC_ROLES, roleGrants } from "./roles.js";

test("every ControllerService RPC is in the role table, and the table holds nothing else", () => {
  const rpcs = rpcNames(ControllerServiceDefinition).sort();
  assert.ok(rpcs.length >= 15, `the walk found the service's methods (${rpcs.join(", ")})`);
  const missing = rpcs.filter((r) => !(r in RPC_ROLES));
  assert.deepEqual(missing, [], `RPCs without a role (they are refused to everyone): ${missing.join(", ")}`);
  assert.deepEqual(Object.keys(RPC_ROLES).sort(), rpcs);
});

test("read-only may list, show, watch events and read the version, and nothing else", () => {
  const readable = Object.entries(RPC_ROLES)
    .filter(([, rule]) => roleGrants("read-only", rule.needs))
    .map(([rpc]) => rpc)
    .sort();
  // Watching events and reading the version are reads too (issue 9: read-only may list, show, stats and watch).
  assert.deepEqual(readable, ["ContainerLogs", "ExplainPlacement", "FindPidOwner", "GetContainer", "GetVersion", "ListContainers", "ListHosts", "ListImages", "ListMigrations", "ListProcesses", "ShowNetwork", "WatchEvents", "WatchMigration"]);
  assert.ok(Object.values(RPC_ROLES).every((rule) => roleGrants("admin", rule.needs)));
});
