// The CLI helping a person: examples, aliases, "did you mean", version, completion and the
// "waiting for" line, all through the real `corral` binary against a real gRPC server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "./commands/index.js";
import { ControllerDouble, sampleContainer, sampleHost, serveDouble } from "./test-support/controller-double.js";
import { CORRAL_BIN, runCorral, type Run } from "./test-support/run-corral.js";

let double: ControllerDouble;
let server: { address: string; tlsEnv: Record<string, string>; close(): Promise<void> };
let home: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "corral-cli-helps-"));
  double = new ControllerDouble();
  double.hosts = [sampleHost("host1", "10.77.0.11:7401"), sampleHost("host2", "10.77.0.12:7401")];
  double.containers.set("web", sampleContainer("web", "host1"));
  double.containers.set("worker", sampleContainer("worker", "host2"));
  server = await serveDouble(double);
});
after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH ?? "", HOME: home, CORRAL_CONTROLLER: server.address, ...server.tlsEnv });
const corral = (args: string[]): Promise<Run> => runCorral(args, env());
const out = (r: Run) => r.stdout.toString("utf8");

/** Runs a program without blocking this process, which serves the controller double. */
function run(file: string, args: string[], runEnv: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(file, args, { env: runEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

test("every command's help has examples, and each example runs a command that exists", async () => {
  // Every distinct `--help` line is run once, four at a time: a few hundred CLI starts one after
  // another took over a minute, most of it node starting up.
  const checks = new Map<string, { args: string[]; why: string; showsExamples: boolean }>();
  for (const c of COMMANDS) {
    assert.ok(c.examples?.length, `${c.name} has no examples`);
    const own = [...c.name.split(" "), "--help"];
    checks.set(own.join(" "), { args: own, why: `${c.name}: --help`, showsExamples: true });
    for (const e of c.examples ?? []) {
      if (!e.includes("corral ")) continue; // `source <(corral completion bash)` names it later
      const words = e.slice(e.indexOf("corral ") + 7).split(" ").filter((w) => !w.startsWith("-"));
      const args = [...words.slice(0, c.name.split(" ").length), "--help"];
      if (!checks.has(args.join(" "))) checks.set(args.join(" "), { args, why: `${c.name}: example "${e}" does not name a command`, showsExamples: false });
    }
  }
  const queue = [...checks.values()];
  const failures: string[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const r = await corral(next.args);
      if (r.code !== 0) failures.push(`${next.why}: ${r.stderr}`);
      else if (next.showsExamples && !/\nExamples:\n {2}\S/.test(out(r))) failures.push(`${next.why} shows no examples`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  assert.deepEqual(failures, []);
});

test("aliases ls and ps run ct list, delete runs ct rm, and help names them", async () => {
  const list = await corral(["ct", "list", "--json"]);
  for (const alias of ["ls", "ps"]) {
    const r = await corral(["ct", alias, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(out(r)), JSON.parse(out(list)));
  }
  const del = await corral(["ct", "delete", "worker"]);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(double.calls.at(-1), { method: "remove", args: ["worker", false] });
  double.containers.set("worker", sampleContainer("worker", "host2"));
  const help = await corral(["ct", "--help"]);
  assert.match(out(help), /ct list\s+List containers.* \(also: ls, ps\)\n/);
  assert.match(out(help), /ct rm\s+Remove a container.* \(also: delete\)\n/);
});

test("a mistyped command or flag gets exit 2 and a did-you-mean, before any RPC", async () => {
  const calls = double.calls.length;
  const verb = await corral(["ct", "lst"]);
  assert.deepEqual([verb.code, verb.stderr], [2, 'corral: unknown command "corral ct lst"; did you mean "corral ct list"? (see corral ct --help)\n']);
  const noun = await corral(["hots", "list"]);
  assert.deepEqual([noun.code, noun.stderr], [2, 'corral: unknown command "hots"; did you mean "corral host"? (see corral --help)\n']);
  const top = await corral(["verison"]);
  assert.equal(top.stderr, 'corral: unknown command "verison"; did you mean "corral version"? (see corral --help)\n');
  const flag = await corral(["ct", "create", "c9", "--memroy", "1G"]);
  assert.deepEqual([flag.code, flag.stderr], [2, "corral: unknown flag --memroy; did you mean --memory? (see corral ct create --help)\n"]);
  const far = await corral(["ct", "xyzzy"]);
  assert.equal(far.stderr, 'corral: unknown command "corral ct xyzzy" (see corral ct --help)\n');
  assert.equal(double.calls.length, calls);
});

test("corral version prints the CLI's and the controller's versions", async () => {
  const r = await corral(["version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(out(r), "client:     corral 0.1.0\ncontroller: 9.8.7\n");
  const j = await corral(["version", "--json"]);
  assert.deepEqual(JSON.parse(out(j)), { client: "0.1.0", controller: "9.8.7" });
  const down = await runCorral(["version", "--json"], { ...env(), CORRAL_CONTROLLER: "127.0.0.1:1" });
  assert.equal(down.code, 1);
  const doc = JSON.parse(out(down));
  assert.equal(doc.client, "0.1.0");
  assert.equal(doc.controller, null);
  assert.match(doc.error, /controller at 127\.0\.0\.1:1 is unreachable/);
});

test("__complete answers from the command tables and the controller's names", async () => {
  const lines = async (...words: string[]) => {
    const r = await corral(["__complete", "--", ...words]);
    assert.equal(r.code, 0, r.stderr);
    return out(r).split("\n").filter(Boolean);
  };
  assert.deepEqual(await lines("c"), ["ct", "cluster", "completion"]);
  assert.deepEqual(await lines("ct", "s"), ["stats", "show", "start", "stop", "set", "shell"]);
  assert.deepEqual(await lines("ct", "show", ""), ["web", "worker"]);
  assert.deepEqual(await lines("ct", "migrate", "web", "--to", ""), ["host1", "host2"]);
  assert.deepEqual(await lines("ct", "create", "x", "--backend", "l"), ["lxc", "lxd"]);
  assert.deepEqual(await lines("ct", "create", "x", "--me"), ["--memory"]);
  assert.deepEqual(await lines("--json", "ct", "rm", "w"), ["web", "worker"]);
  const zsh = await corral(["__complete", "--shell", "zsh", "--", "ct", "ex"]);
  assert.equal(out(zsh), "exec:Run a command in a container; its output streams through and its exit code is ours\n");
});

test("the bash script completes container names through the real binary", async () => {
  const bin = mkdtempSync(join(tmpdir(), "corral-bin-"));
  try {
    writeFileSync(join(bin, "corral"), `#!/bin/sh\nexec "${process.execPath}" "${CORRAL_BIN}" "$@"\n`);
    chmodSync(join(bin, "corral"), 0o755);
    const script = `source <(corral completion bash)
COMP_WORDS=(corral ct stop w); COMP_CWORD=3; _corral; printf '%s\\n' "\${COMPREPLY[@]}"
COMP_WORDS=(corral ct); COMP_CWORD=2; COMP_WORDS+=(re); _corral; printf '%s\\n' "\${COMPREPLY[@]}"
complete -p corral`;
    const r = await run("bash", ["-c", script], { ...env(), PATH: `${bin}:${process.env.PATH ?? ""}` });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "web\nworker\nrestart\ncomplete -o default -F _corral corral\n");
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("completion refuses an unknown shell with exit 2", async () => {
  const r = await corral(["completion", "fish"]);
  assert.deepEqual([r.code, r.stderr], [2, 'corral: unknown shell "fish": expected bash or zsh\n']);
  const zsh = await corral(["completion", "zsh"]);
  assert.match(out(zsh), /^#compdef corral\n/);
  assert.match(out(zsh), /corral __complete --shell zsh --/);
});

test("a call over a second shows what it waits for on a terminal, and nothing in a pipe", async () => {
  double.stopDelayMs = 1_600;
  try {
    const piped = await corral(["ct", "stop", "web"]);
    assert.deepEqual([piped.code, piped.stderr], [0, ""]);
    // script(1) gives the binary a real pty for stdout and stderr.
    const cmd = `"${process.execPath}" "${CORRAL_BIN}" ct stop web`;
    const r = await run("script", ["-qec", cmd, "/dev/null"], { ...env(), TERM: "xterm" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\r[|/\\\\-] 1s  stopping web \\(controller at ${server.address.replace(/\./g, "\\.")}\\)\\x1b\\[K`));
    assert.match(r.stdout, /\r\x1b\[Kstopped web/);
  } finally {
    double.stopDelayMs = 0;
  }
});

test("--memory 256 is refused with a hint before any RPC", async () => {
  const calls = double.calls.length;
  for (const argv of [["ct", "create", "c9", "--memory", "256"], ["ct", "set", "web", "--memory", "256"]]) {
    const r = await corral(argv);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'corral: invalid memory "256": a size needs a unit; did you mean 256M?\n');
  }
  assert.equal(double.calls.length, calls);
});
