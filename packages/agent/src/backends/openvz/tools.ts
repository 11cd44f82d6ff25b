// Runs vzctl and vzlist as child processes. Real vzctl has no daemon and no API: its command line,
// output and exit status (vzctl(8), EXIT STATUS) are the contract, for the real tools and the stand-in.
import type { ToolCommand } from "../../process/exec-io.js";
import { lastLine as lastLineOf, run, type RunResult } from "../../process/run.js";

/** Exit codes from vzctl(8) that the backend acts on. */
export const VZ_EXIT = {
  notRunning: 31,
  running: 32,
  privateExists: 44,
  templateMissing: 91,
  noConfig: 14,
} as const;

export type VzCommand = RunResult;

export interface VzToolsOptions {
  vzctl: string;
  vzlist: string;
  /** Extra environment (VZ_ROOT, VZ_CGROUP_PREFIX for the stand-in; ignored by real vzctl). */
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

  /** Spawns vzctl with piped stdout/stderr in its own process group, for exec and killable stops. */
  /** vzctl with this host's environment, for execTool (piped or on a pty). */
  vzctlCommand(args: string[]): ToolCommand {
    return { cmd: this.opts.vzctl, args, env: this.env };
  }

  /** Resolves with the exit code and output; rejects only when the tool cannot be started at all. */
  run(cmd: string, args: string[], opts: { timeoutMs?: number }): Promise<VzCommand> {
    // A group of its own: past the timeout, vzctl's children (halt inside the CT, nsenter) go too.
    return run(cmd, args, {
      env: this.env,
      group: true,
      missing: `${cmd} not found: is OpenVZ (or its stand-in) installed?`,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }
}

/** The last meaningful line vzctl printed, for error messages. */
export function lastLine(r: VzCommand): string {
  return lastLineOf(`${r.stderr}\n${r.stdout}`) || `exit ${r.code}`;
}

/** Quotes one argument for `sh -c`: vzctl exec joins its arguments and runs them with a shell. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
