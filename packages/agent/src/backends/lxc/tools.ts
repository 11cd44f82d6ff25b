// The lxc-* tools, each call with an explicit `-P lxcpath` so several agents (emulated hosts) on
// one machine keep separate container sets.
import type { ExecOutput } from "@corral/wire";
import { run, type RunResult } from "../../process/run.js";
import { execTool, type ExecIo } from "../../process/exec-io.js";

export class LxcTools {
  constructor(readonly lxcPath: string) {}

  /** `lxc-<tool> -P lxcpath …`; resolves with the exit code, output collected. */
  run(tool: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
    return run(`lxc-${tool}`, ["-P", this.lxcPath, ...args], { timeoutMs });
  }

  /**
   * lxc-attach with a clean environment, streamed, with the caller's stdin. On a pty (io.tty)
   * lxc-attach gives the command a terminal of its own inside and passes resizes on. Aborting kills
   * lxc-attach and every process it started in the container: killing lxc-attach alone leaves the
   * command running inside.
   */
  attach(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncGenerator<ExecOutput> {
    const envArgs = env.flatMap((e) => ["--set-var", e]);
    const args = ["-P", this.lxcPath, "-n", name, "--clear-env", ...envArgs, "--", ...argv];
    return execTool({ cmd: "lxc-attach", args }, io, signal, "cannot run lxc-attach");
  }

  /** Whether the lxc tools are installed, with a reason when not. */
  static async version(): Promise<{ ok: boolean; reason: string }> {
    const v = await run("lxc-create", ["--version"]).catch((e: Error) => ({ code: 127, stdout: "", stderr: e.message }));
    return v.code === 0 ? { ok: true, reason: "" } : { ok: false, reason: "lxc-create not found (install the lxc package)" };
  }
}
