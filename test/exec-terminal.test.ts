// A way into a container, on every runtime, as a person uses it: `corral ct exec` with stdin piped
// in, and `ct exec -it` / `ct shell` run by the real CLI binary on a real terminal (node-pty), through
// the controller to the host's agent: the size seen inside, a resize, Ctrl-C delivered to the
// command (not killing corral), the exit code passed back, and a login shell's prompt.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as pty from "node-pty";
import { buildBusyboxRootfs, type BusyboxRootfs } from "@corral/agent/test-support";
import { REPO, TestCluster } from "./support/cluster.js";

const cluster = new TestCluster({ hosts: 1, slot: 8, docker: true });
const CLI = `${REPO}packages/cli/bin/corral.js`;
// One LXD daemon serves every emulated host of every cluster on this machine: a name of our own.
const LXD_NAME = `xsys-${process.pid}`;
let appImage: BusyboxRootfs;
let bootImage: BusyboxRootfs;
let lxd = false;

/** `corral ARGS` on a terminal of its own, typed at and read as a person would. */
class Terminal {
  private readonly p: pty.IPty;
  output = "";
  code: number | undefined;
  readonly exited: Promise<number>;

  constructor(args: string[], size = { cols: 100, rows: 30 }) {
    const env = { ...cluster.env, TERM: "xterm" } as Record<string, string>;
    this.p = pty.spawn(process.execPath, [CLI, "--controller", cluster.controller, ...args], { ...size, env });
    this.p.onData((d) => (this.output += d));
    this.exited = new Promise((resolve) =>
      this.p.onExit(({ exitCode }) => {
        this.code = exitCode;
        resolve(exitCode);
      }),
    );
  }

  type(text: string): void {
    this.p.write(text);
  }
  resize(cols: number, rows: number): void {
    this.p.resize(cols, rows);
  }

  /** Waits until the screen shows `re` (calling `poke` between looks), or fails with what it shows. */
  async waitFor(re: RegExp, poke?: () => void, ms = 15_000): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.output)) {
      if (Date.now() - t0 > ms || this.code !== undefined) {
        this.p.kill();
        assert.fail(`waited for ${re} (corral exit ${this.code}): ${JSON.stringify(this.output.slice(-600))}`);
      }
      poke?.();
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

before(async () => {
  appImage = buildBusyboxRootfs();
  bootImage = buildBusyboxRootfs({ bootable: true });
  await cluster.up();
  const ok = async (args: string[]) => {
    const r = await cluster.cli(args, { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  };
  await ok(["ct", "create", "xlxc", "--host", "host1", "--cpus", "0.5"]);
  await ok(["image", "import", appImage.tarball, "--name", "xapp", "--backend", "docker"]);
  await ok(["ct", "create", "xdock", "--backend", "docker", "--image", "xapp", "--cmd", "sleep 1000000", "--host", "host1", "--cpus", "0.5"]);
  await ok(["ct", "create", "xvz", "--backend", "openvz", "--template", "busybox", "--host", "host1", "--cpus", "0.5"]);
  const hosts = await cluster.json<{ backends: string[] }[]>(["host", "list"]);
  lxd = hosts.every((h) => h.backends.includes("lxd"));
  if (lxd) {
    await ok(["image", "import", bootImage.tarball, "--name", "xsys", "--backend", "lxd"]);
    await ok(["ct", "create", LXD_NAME, "--backend", "lxd", "--image", "xsys", "--host", "host1", "--cpus", "0.5"]);
  }
});
after(async () => {
  await cluster.cli(["ct", "rm", "--force", LXD_NAME]); // LXD is one daemon for every cluster: leave nothing behind
  await cluster.down();
  appImage?.cleanup();
  bootImage?.cleanup();
});

// The last field: exec on a terminal, or "shell": only ct shell gets one (OpenVZ's vzctl enter, which
// returns 0 however its shell ended), and -it is refused.
const BACKENDS: [string, () => string | undefined, true | "shell"][] = [
  ["lxc", () => "xlxc", true],
  ["docker", () => "xdock", true],
  ["lxd", () => (lxd ? LXD_NAME : undefined), true],
  ["openvz (stand-in)", () => "xvz", "shell"],
];

for (const [backend, nameOf, terminal] of BACKENDS) {
  describe(`exec on ${backend}`, () => {
    test("piped stdin reaches the command, its end is EOF, the exit code is ours", async (t) => {
      const ct = nameOf();
      if (!ct) return t.skip("LXD is not running on this machine");
      const r = await cluster.cli(["ct", "exec", ct, "--", "sh", "-c", "cat; echo after-eof; exit 3"], { input: "hello\n" });
      assert.deepEqual([r.code, r.stdout, r.stderr], [3, "hello\nafter-eof\n", ""]);
    });

    const shellOnly = terminal === "shell";
    if (shellOnly) {
      test("-it is refused with a clear reason, and nothing runs", async (t) => {
        const ct = nameOf();
        if (!ct) return t.skip("LXD is not running on this machine");
        const term = new Terminal(["ct", "exec", "-it", ct, "--", "sh", "-c", "echo ran"]);
        assert.notEqual(await term.exited, 0, term.output);
        assert.match(term.output, /not supported on .*; run the command without -t, or open a shell with ct shell/);
        assert.doesNotMatch(term.output, /\bran\b/);
      });
    } else test("-it: a terminal of our size that follows a resize, Ctrl-C inside, exit code passed back", async (t) => {
      const ct = nameOf();
      if (!ct) return t.skip("LXD is not running on this machine");
      const term = new Terminal(["ct", "exec", "-it", ct, "--", "sh", "-c", "echo ready; while read l; do stty size; done; exit 3"]);
      await term.waitFor(/ready/);
      await term.waitFor(/30 100/, () => term.type("\r"));
      term.resize(120, 40);
      await term.waitFor(/40 120/, () => term.type("\r"));
      term.type("\x04"); // Ctrl-D: read sees the end of input
      assert.equal(await term.exited, 3, term.output);

      const intr = new Terminal(["ct", "exec", "-it", ct, "--", "sh", "-c", "trap 'echo caught-int; exit 4' INT; echo ready; while :; do sleep 0.2; done"]);
      await intr.waitFor(/ready/);
      intr.type("\x03");
      // The command caught it and chose its code; corral was not interrupted (that would be 130).
      assert.equal(await intr.exited, 4, intr.output);
    });

    test("ct shell opens a login shell with a prompt that runs what is typed", async (t) => {
      const ct = nameOf();
      if (!ct) return t.skip("LXD is not running on this machine");
      const term = new Terminal(["ct", "shell", ct]);
      await term.waitFor(/[#$] /); // the prompt (busybox ash may follow it with cursor queries and a redraw)
      term.type("echo in-$((6*7)) $HOME\r");
      await term.waitFor(/in-42 \/root/);
      term.type("exit 5\r");
      assert.equal(await term.exited, shellOnly ? 0 : 5, term.output); // vzctl enter returns 0 however its shell ended
    });
  });
}
