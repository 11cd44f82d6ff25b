// Runs vzctl and vzlist as child processes. Real vzctl has no daemon and no API: its command line,
// output and exit status (vzctl(8), EXIT STATUS) are the contract, for the real tools and the stand-in.
import { spawn, type ChildProcess } from "node:child_process";
import { CorralError, unavailable } from "@corral/wire";

/** Exit codes from vzctl(8) that the backend acts on. */
export const VZ_EXIT = {
  notRunning: 31,
  running: 32,
  privateExists: 44,
  templateMissing: 91,
  noConfig: 14,
} as const;

export interface VzCommand {
  code: number;
  stdout: string;
  stderr: string;
}

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
  spawnVzctl(args: string[]): ChildProcess {
    return spawn(this.opts.vzctl, args, { env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  }

  /** Resolves with the exit code and output; rejects only when the tool cannot be started at all. */
  run(cmd: string, args: string[], opts: { timeoutMs?: number }): Promise<VzCommand> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      let stdout = "";
      let stderr = "";
      let timer: NodeJS.Timeout | undefined;
      child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        const what = `${cmd} ${args[0] ?? ""}`.trim();
        if (err.code === "ENOENT") reject(unavailable(`${cmd} not found: is OpenVZ (or its stand-in) installed?`, err));
        else reject(new CorralError("internal", `could not run ${what}: ${err.message}`, { cause: err }));
      });
      if (opts.timeoutMs) {
        // The whole group: vzctl's own children (halt inside the CT, nsenter) go too.
        timer = setTimeout(() => killGroup(child), opts.timeoutMs);
      }
      child.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 + 9 : 1), stdout, stderr });
      });
    });
  }
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** The last meaningful line vzctl printed, for error messages. */
export function lastLine(r: VzCommand): string {
  const lines = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? `exit ${r.code}`;
}

/** Quotes one argument for `sh -c`: vzctl exec joins its arguments and runs them with a shell. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
