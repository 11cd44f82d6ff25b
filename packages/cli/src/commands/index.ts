// Every command, in the order `corral --help` lists them.
import type { CommandModule } from "../command.js";
import * as hostList from "./host-list.js";
import * as hostLabel from "./host-label.js";
import * as hostUnlabel from "./host-unlabel.js";
import * as hostSet from "./host-set.js";
import * as hostCordon from "./host-cordon.js";
import * as hostUncordon from "./host-uncordon.js";
import * as hostDrain from "./host-drain.js";
import * as hostRestore from "./host-restore.js";
import * as clusterSet from "./cluster-set.js";
import * as hostJoinToken from "./host-join-token.js";
import * as hostRm from "./host-rm.js";
import * as clusterInit from "./cluster-init.js";
import * as hostShow from "./host-show.js";
import * as hostPid from "./host-pid.js";
import * as ctCreate from "./ct-create.js";
import * as ctList from "./ct-list.js";
import * as ctStats from "./ct-stats.js";
import * as ctShow from "./ct-show.js";
import * as ctStart from "./ct-start.js";
import * as ctStop from "./ct-stop.js";
import * as ctRestart from "./ct-restart.js";
import * as ctRm from "./ct-rm.js";
import * as ctSet from "./ct-set.js";
import * as ctExec from "./ct-exec.js";
import * as ctCp from "./ct-cp.js";
import * as ctLogs from "./ct-logs.js";
import * as ctTop from "./ct-top.js";
import * as ctShell from "./ct-shell.js";
import * as ctMigrate from "./ct-migrate.js";
import * as migrationList from "./migration-list.js";
import * as migrationShow from "./migration-show.js";
import * as migrationFinish from "./migration-finish.js";
import * as imageImport from "./image-import.js";
import * as imageBuild from "./image-build.js";
import * as imageList from "./image-list.js";
import * as imageRm from "./image-rm.js";
import * as networkShow from "./network-show.js";
import * as tokenCreate from "./token-create.js";
import * as tokenList from "./token-list.js";
import * as tokenRevoke from "./token-revoke.js";
import * as version from "./version.js";
import * as events from "./events.js";
import * as completion from "./completion.js";
import * as complete from "./complete.js";

export const COMMANDS: readonly CommandModule[] = [
  hostList,
  hostLabel,
  hostUnlabel,
  hostSet,
  hostCordon,
  hostUncordon,
  hostDrain,
  hostRestore,
  hostJoinToken,
  hostRm,
  hostShow,
  hostPid,
  ctCreate,
  ctList,
  ctStats,
  ctShow,
  ctStart,
  ctStop,
  ctRestart,
  ctRm,
  ctSet,
  ctExec,
  ctCp,
  ctLogs,
  ctTop,
  ctShell,
  ctMigrate,
  migrationList,
  migrationShow,
  migrationFinish,
  imageImport,
  imageBuild,
  imageList,
  imageRm,
  networkShow,
  tokenCreate,
  tokenList,
  tokenRevoke,
  clusterSet,
  clusterInit,
  events,
  version,
  completion,
  complete,
];

export const NOUNS: Record<string, string> = {
  host: "hosts of the cluster",
  ct: "containers",
  migration: "container moves between hosts",
  image: "images on the hosts",
  network: "the container network: addresses and bridges",
  token: "bearer tokens for people using the CLI",
  cluster: "the cluster's identity (CA and credentials) and its settings",
};

/** Commands of one word (`corral version`); every other command is NOUN VERB. */
export const isTopLevel = (c: CommandModule): boolean => !c.name.includes(" ");

export function findTopLevel(word: string): CommandModule | undefined {
  return COMMANDS.find((c) => isTopLevel(c) && (c.name === word || c.aliases?.includes(word)));
}

/** The command `corral NOUN VERB` runs, by its name or one of its aliases. */
export function findCommand(noun: string, verb: string): CommandModule | undefined {
  return verbsOf(noun).find((c) => verbOf(c) === verb || c.aliases?.includes(verb));
}

export const verbOf = (c: CommandModule): string => c.name.split(" ")[1] as string;

export const verbsOf = (noun: string): CommandModule[] => COMMANDS.filter((c) => c.name.startsWith(`${noun} `));

/** Every word that may follow `corral NOUN`: verbs and their aliases. */
export const verbWordsOf = (noun: string): string[] => verbsOf(noun).flatMap((c) => [verbOf(c), ...(c.aliases ?? [])]);

/** Every word that may follow `corral`: nouns and one-word commands (hidden ones left out). */
export const firstWords = (): string[] => [...Object.keys(NOUNS), ...COMMANDS.filter((c) => isTopLevel(c) && !c.hidden).map((c) => c.name), "help"];
