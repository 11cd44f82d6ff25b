// Every command, in the order `corral --help` lists them.
import type { CommandModule } from "../command.js";
import * as hostList from "./host-list.js";
import * as ctCreate from "./ct-create.js";
import * as ctList from "./ct-list.js";
import * as ctShow from "./ct-show.js";
import * as ctStart from "./ct-start.js";
import * as ctStop from "./ct-stop.js";
import * as ctRestart from "./ct-restart.js";
import * as ctRm from "./ct-rm.js";
import * as ctSet from "./ct-set.js";
import * as ctExec from "./ct-exec.js";
import * as ctMigrate from "./ct-migrate.js";
import * as migrationList from "./migration-list.js";
import * as migrationShow from "./migration-show.js";
import * as migrationFinish from "./migration-finish.js";
import * as imageImport from "./image-import.js";
import * as tokenCreate from "./token-create.js";
import * as tokenList from "./token-list.js";
import * as tokenRevoke from "./token-revoke.js";

export const COMMANDS: readonly CommandModule[] = [
  hostList,
  ctCreate,
  ctList,
  ctShow,
  ctStart,
  ctStop,
  ctRestart,
  ctRm,
  ctSet,
  ctExec,
  ctMigrate,
  migrationList,
  migrationShow,
  migrationFinish,
  imageImport,
  tokenCreate,
  tokenList,
  tokenRevoke,
];

export const NOUNS: Record<string, string> = {
  host: "hosts of the cluster",
  ct: "containers",
  migration: "container moves between hosts",
  image: "images on the hosts",
  token: "bearer tokens for people using the CLI",
};

export function findCommand(noun: string, verb: string): CommandModule | undefined {
  return COMMANDS.find((c) => c.name === `${noun} ${verb}`);
}

export const verbsOf = (noun: string): CommandModule[] => COMMANDS.filter((c) => c.name.startsWith(`${noun} `));
