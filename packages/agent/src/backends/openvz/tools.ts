// Runs vzctl and vzlist as child processes. Real vzctl has no daemon and no API: its command line,
// output and exit status (vzctl(8), EXIT STATUS) are the contract, for the real tools and the stand-in.
import { dirname, join } from "node:path";
import type { ToolCommand } from "../../process/exec-io.js";
import { lastLine as lastLineOf, run, type RunResult } from "../../process/run.js";

/** Exit codes from vzctl(8) that the backend acts on. */
export const VZ_EXIT = {
  system: 3,
  locked: 9,
  noConfig: 14,
  ubcNotSet: 28,
  notRunning: 31,
  running: 32,
  notMounted: 40,
  mounted: 41,
  privateExists: 44,
  ipInUse: 78,
  templateMissing: 91,
} as const;

/** Every exit status vzctl(8) documents (vzctl 4.x, EXIT STATUS), for the error a user sees. */
export const VZ_EXIT_MEANING: Readonly<Record<number, string>> = {
  1: "failed to set a UBC parameter",
  2: "failed to set a fair scheduler parameter",
  3: "generic system error (exec2: the command was killed by a signal)",
  5: "the running kernel is not an OpenVZ kernel",
  6: "not enough system resources",
  7: "ENV_CREATE ioctl failed",
  8: "command executed by vzctl exec returned non-zero exit code",
  9: "container is locked by another vzctl invocation",
  10: "global OpenVZ configuration file vz.conf(5) not found",
  11: "a vzctl helper script file not found",
  12: "permission denied",
  13: "capability setting failed",
  14: "container configuration file ctid.conf(5) not found",
  15: "timeout on vzctl exec",
  16: "error during vzctl chkpnt",
  17: "error during vzctl restore",
  18: "error from setluid() syscall",
  20: "invalid command line parameter",
  21: "invalid value for command line parameter",
  22: "container root directory (VE_ROOT) not set",
  23: "container private directory (VE_PRIVATE) not set",
  24: "container template directory (TEMPLATE) not set",
  28: "not all required UBC parameters are set, unable to start container",
  29: "OS template is not specified, unable to create container",
  31: "container not running",
  32: "container already running",
  33: "unable to stop container",
  34: "unable to add IP address to container",
  40: "container not mounted",
  41: "container already mounted",
  43: "container private area not found",
  44: "container private area already exists",
  46: "not enough disk space",
  47: "bad/broken container (/sbin/init or /bin/sh not found)",
  48: "unable to create a new container private area",
  49: "unable to create a new container root area",
  50: "unable to mount container",
  51: "unable to unmount container",
  52: "unable to delete a container",
  53: "container private area does not exist",
  60: "vzquota on failed",
  61: "vzquota init failed",
  62: "vzquota setlimit failed",
  63: "parameter DISKSPACE not set",
  64: "parameter DISKINODES not set",
  65: "error setting in-container disk quotas",
  66: "vzquota off failed",
  67: "ugid quota not initialized",
  71: "incorrect IP address format",
  74: "error changing password",
  78: "IP address already in use",
  79: "container action script returned an error",
  82: "config file copying error",
  86: "error setting devices (--devices or --devnodes)",
  89: "IP address not available",
  91: "OS template not found",
  99: "ploop is not supported by either the running kernel or vzctl",
  100: "unable to find container IP address",
  104: "VE_NETDEV ioctl error",
  105: "container start disabled",
  106: "unable to set iptables on a running container",
  107: "distribution-specific configuration file not found",
  109: "unable to apply a config",
  129: "unable to set meminfo parameter",
  130: "error setting veth interface",
  131: "error setting container name",
  133: "waiting for container start failed",
  139: "error saving container configuration file",
  148: "error setting container IO parameters (ioprio)",
  150: "ploop image file not found",
  151: "error creating ploop image",
  152: "error mounting ploop image",
  153: "error unmounting ploop image",
  154: "error resizing ploop image",
  155: "error converting container to ploop layout",
  156: "error creating ploop snapshot",
  157: "error merging ploop snapshot",
  158: "error deleting ploop snapshot",
  159: "error switching ploop snapshot",
  166: "error compacting ploop image",
  167: "error listing ploop snapshots",
};

/** "vzctl exit N: meaning" for an error message. */
export function vzExit(code: number): string {
  const meaning = VZ_EXIT_MEANING[code];
  return meaning ? `vzctl exit ${code}: ${meaning}` : `vzctl exit ${code}`;
}

export type VzCommand = RunResult;

export interface VzToolsOptions {
  vzctl: string;
  vzlist: string;
  /** vzquota's dump and load tools (vzdqdump(8)); beside vzctl when vzctl is given as a path. */
  vzdqdump: string;
  vzdqload: string;
  /** Extra environment (VZ_ROOT, VZ_PROC_ROOT, VZ_CGROUP_PREFIX for the stand-in; ignored by real vzctl). */
  env: Record<string, string>;
}

export class VzTools {
  private readonly env: NodeJS.ProcessEnv;
  constructor(readonly opts: VzToolsOptions) {
    this.env = { ...process.env, ...opts.env };
  }

  vzctl(args: string[], opts: { timeoutMs?: number } = {}): Promise<VzCommand> {
    return this.run(this.opts.vzctl, args, opts);
  }

  vzlist(args: string[]): Promise<VzCommand> {
    return this.run(this.opts.vzlist, args, {});
  }

  vzdqdump(args: string[]): Promise<VzCommand> {
    return this.run(this.opts.vzdqdump, args, {});
  }

  /** vzdqload reads the dump on its stdin. */
  vzdqload(args: string[], input: string): Promise<VzCommand> {
    return this.run(this.opts.vzdqload, args, { input });
  }

  /** Spawns vzctl with piped stdout/stderr in its own process group, for exec and killable stops. */
  /** vzctl with this host's environment, for execTool (piped or on a pty). */
  vzctlCommand(args: string[]): ToolCommand {
    return { cmd: this.opts.vzctl, args, env: this.env };
  }

  /** Resolves with the exit code and output; rejects only when the tool cannot be started at all. */
  run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string }): Promise<VzCommand> {
    // A group of its own: past the timeout, vzctl's children (halt inside the CT, nsenter) go too.
    return run(cmd, args, {
      env: this.env,
      group: true,
      missing: `${cmd} not found: is OpenVZ (or its stand-in) installed?`,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
  }
}

/** A tool of the vzctl family: beside vzctl when vzctl was given as a path (the stand-in), else on PATH. */
export const besideVzctl = (vzctl: string, tool: string): string => (vzctl.includes("/") ? join(dirname(vzctl), tool) : tool);

/** The last meaningful line vzctl printed, for error messages. */
export function lastLine(r: VzCommand): string {
  return lastLineOf(`${r.stderr}\n${r.stdout}`) || `exit ${r.code}`;
}

/** Quotes one argument for `sh -c`: vzctl exec joins its arguments and runs them with a shell. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
