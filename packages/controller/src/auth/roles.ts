// Which role each ControllerService RPC needs. One table, checked in one place (authorize.ts); an
// RPC missing here is refused, and roles.test.ts proves every RPC of the service is listed.
import type { TokenRole } from "@corral/wire";

export type Need = "read" | "admin";

export interface RpcRule {
  needs: Need;
  /** Completes "role read-only may not …". */
  action: string;
}

export const RPC_ROLES: Readonly<Record<string, RpcRule>> = {
  ListHosts: { needs: "read", action: "list hosts" },
  ListImages: { needs: "read", action: "list images" },
  ListContainers: { needs: "read", action: "list containers" },
  GetContainer: { needs: "read", action: "show containers" },
  ListMigrations: { needs: "read", action: "list migrations" },
  GetVersion: { needs: "read", action: "read the controller's version" },
  ShowNetwork: { needs: "read", action: "show the network" },
  WatchEvents: { needs: "read", action: "watch events" },
  WatchMigration: { needs: "read", action: "show migrations" },
  // docker top is a read; so is naming the container that owns a PID.
  ListProcesses: { needs: "read", action: "list processes" },
  FindPidOwner: { needs: "read", action: "look up PIDs" },
  CreateContainer: { needs: "admin", action: "create containers" },
  StartContainer: { needs: "admin", action: "start containers" },
  StopContainer: { needs: "admin", action: "stop containers" },
  RemoveContainer: { needs: "admin", action: "remove containers" },
  ExecContainer: { needs: "admin", action: "exec in containers" },
  SetLimits: { needs: "admin", action: "change container limits" },
  MigrateContainer: { needs: "admin", action: "migrate containers" },
  FinishMigration: { needs: "admin", action: "finish migrations" },
  ImportImage: { needs: "admin", action: "import images" },
  CopyToContainer: { needs: "admin", action: "copy files into containers" },
  // Files may hold secrets that logs do not; reading them is as much as exec.
  CopyFromContainer: { needs: "admin", action: "copy files out of containers" },
  ContainerLogs: { needs: "read", action: "read container logs" },
  RemoveImage: { needs: "admin", action: "remove images" },
  // Token ids and roles are the map of who can do what: admins only.
  CreateToken: { needs: "admin", action: "create tokens" },
  ListTokens: { needs: "admin", action: "list tokens" },
  RevokeToken: { needs: "admin", action: "revoke tokens" },
  // A dry run changes nothing: reading the scheduler's verdicts is a read.
  ExplainPlacement: { needs: "read", action: "explain placements" },
  LabelHost: { needs: "admin", action: "label hosts" },
  SetHostOvercommit: { needs: "admin", action: "set host overcommit" },
  CordonHost: { needs: "admin", action: "cordon hosts" },
  UncordonHost: { needs: "admin", action: "uncordon hosts" },
  DrainHost: { needs: "admin", action: "drain hosts" },
  RestoreHost: { needs: "admin", action: "restore hosts" },
  SetClusterSetting: { needs: "admin", action: "change cluster settings" },
  CreateJoinToken: { needs: "admin", action: "create join tokens" },
  RemoveHost: { needs: "admin", action: "remove hosts" },
};

const GRANTS: Record<TokenRole, readonly Need[]> = {
  admin: ["read", "admin"],
  "read-only": ["read"],
};

export const roleGrants = (role: TokenRole, need: Need): boolean => GRANTS[role].includes(need);
