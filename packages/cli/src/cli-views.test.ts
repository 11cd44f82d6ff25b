// `corral ct stats` and `corral host show` through the real binary, against a real gRPC server
// holding the usage an agent would have reported.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerUsage } from "@corral/wire";
import { ControllerDouble, sampleContainer, sampleHost, serveDouble } from "./test-support/controller-double.js";
import { runCorral, type Run } from "./test-support/run-corral.js";

const MiB = 1024 ** 2;
let double: ControllerDouble;
let server: { address: string; tlsEnv: Record<string, string>; close(): Promise<void> };
let home: string;

const usage = (name: string, over: Partial<ContainerUsage>): ContainerUsage => ({
  name,
  backend: "lxc",
  state: "running",
  cpuNanos: 5e9,
  cpuPercent: 0,
  memoryBytes: 0,
  memoryLimitBytes: 0,
  pids: 0,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  netRxBytes: 0,
  netTxBytes: 0,
  ...over,
});

before(async () => {
  home = mkdtempSync(join(tmpdir(), "corral-cli-views-"));
  double = new ControllerDouble();
  const h2 = sampleHost("host2", "10.77.0.12:7401");
  h2.backends = [{ name: "docker", available: false, reason: "dockerd is not running", capabilities: [] }];
  double.hosts = [sampleHost("host1", "10.77.0.11:7401"), h2];
  double.containers.set(
    "web",
    sampleContainer("web", "host1", {
      usage: usage("web", { cpuPercent: 12.345, memoryBytes: 64 * MiB, memoryLimitBytes: 256 * MiB, pids: 7, netRxBytes: 2048, netTxBytes: 1024, blockReadBytes: 3 * MiB, blockWriteBytes: MiB }),
    }),
  );
  double.containers.set("api", sampleContainer("api", "host1", { usage: usage("api", { cpuPercent: 50, memoryBytes: 32 * MiB, pids: 3 }) }));
  double.containers.set("old", sampleContainer("old", "host2", { state: "stopped", desiredState: "stopped" }));
  server = await serveDouble(double);
});
after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const corral = (args: string[]): Promise<Run> => runCorral(args, { PATH: process.env.PATH ?? "", HOME: home, CORRAL_CONTROLLER: server.address, ...server.tlsEnv });
const out = (r: Run) => r.stdout.toString("utf8");

test("ct stats prints docker stats' columns for the running containers of the cluster", async () => {
  const r = await corral(["ct", "stats"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = out(r).trimEnd().split("\n");
  assert.match(lines[0] as string, /^CONTAINER\s+HOST\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  assert.match(lines[1] as string, /^api\s+host1\s+50\.00%\s+32\.0 MiB \/ 256 MiB\s+12\.50%\s+0 B \/ 0 B\s+0 B \/ 0 B\s+3$/);
  assert.match(lines[2] as string, /^web\s+host1\s+12\.35%\s+64\.0 MiB \/ 256 MiB\s+25\.00%\s+2\.0 KiB \/ 1\.0 KiB\s+3\.0 MiB \/ 1\.0 MiB\s+7$/);
  assert.equal(lines.length, 3, "the stopped container is left out");
});

test("ct stats --json has docker stats' keys; named containers are shown whatever their state", async () => {
  const r = await corral(["ct", "stats", "web", "old", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(out(r));
  assert.deepEqual(doc[0], {
    name: "web",
    host: "host1",
    state: "running",
    cpuPercent: 12.35,
    memoryBytes: 64 * MiB,
    memoryLimitBytes: 256 * MiB,
    memoryPercent: 25,
    netRxBytes: 2048,
    netTxBytes: 1024,
    blockReadBytes: 3 * MiB,
    blockWriteBytes: MiB,
    pids: 7,
  });
  assert.deepEqual([doc[1].name, doc[1].state, doc[1].cpuPercent, doc[1].pids], ["old", "stopped", 0, 0]);
  const table = await corral(["ct", "stats", "old"]);
  assert.match(out(table).split("\n")[1] as string, /^old\s+host2\s+--\s+-- \/ --\s+--\s+-- \/ --\s+-- \/ --\s+--$/);
});

test("ct stats names an unknown container with a did-you-mean and exit 1; --host filters", async () => {
  const r = await corral(["ct", "stats", "wbe"]);
  assert.deepEqual([r.code, r.stderr, out(r)], [1, 'corral: container "wbe" not found; did you mean "web"?\n', ""]);
  const h = await corral(["ct", "stats", "--host", "host2", "--json"]);
  assert.deepEqual(JSON.parse(out(h)), []);
  assert.deepEqual(double.calls.at(-1), { method: "list", args: ["host2"] });
});

test("ct stats --follow --json prints one document a line each round", async () => {
  const { spawn } = await import("node:child_process");
  const { CORRAL_BIN } = await import("./test-support/run-corral.js");
  const child = spawn(process.execPath, [CORRAL_BIN, "ct", "stats", "web", "--follow", "--interval", "0.2", "--json"], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CORRAL_CONTROLLER: server.address, ...server.tlsEnv },
  });
  let text = "";
  let errText = "";
  child.stderr.on("data", (d: Buffer) => (errText += d.toString("utf8")));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      if (text.split("\n").length > 3) resolve();
    });
    // A follow that ends by itself has failed: say why instead of waiting forever.
    child.on("exit", (code) => reject(new Error(`ct stats --follow exited ${code}: ${errText}`)));
  });
  child.kill("SIGINT");
  const docs = text.split("\n").slice(0, 3).map((l) => JSON.parse(l) as { name: string }[]);
  assert.deepEqual(docs.map((d) => d.map((s) => s.name)), [["web"], ["web"], ["web"]]);
});

test("host show prints capacity, reserved and used, backends with reasons, and containers", async () => {
  const r = await corral(["host", "show", "host1"]);
  assert.equal(r.code, 0, r.stderr);
  const text = out(r);
  assert.match(text, /^Name: {6}host1\nAddress: {3}10\.77\.0\.11:7401\nState: {5}ready\nLast seen: 2023-11-14T22:13:20Z\n/);
  assert.match(text, /\n\s+CAPACITY\s+RESERVED\s+USED\nCPU\s+2\s+1\.5 \(75%\)\s+0\.62 \(31%\)\nMemory\s+4\.0 GiB\s+512 MiB \(13%\)\s+96\.0 MiB \(2%\)\nDisk\s+100 GiB\s+-\s+50\.0 GiB \(50%\)\n/);
  assert.match(text, /\nBackends:\n {2}lxc\s+available\n {2}openvz\s+unavailable: vzctl not found\n/);
  assert.match(text, /\nContainers \(2\):\n {2}NAME\s+BACKEND\s+STATE\n {2}api\s+lxc\s+running\n {2}web\s+lxc\s+running\n$/);
  const j = await corral(["host", "show", "host2", "--json"]);
  const doc = JSON.parse(out(j));
  assert.deepEqual(doc.backends, [{ name: "docker", available: false, reason: "dockerd is not running", capabilities: [] }]);
  assert.deepEqual(doc.containers, [{ name: "old", backend: "lxc", state: "stopped", desiredState: "stopped" }]);
  assert.deepEqual(doc.used, { cpus: 0, memoryBytes: 0, diskBytes: 50 * 1024 ** 3 });
  assert.deepEqual(doc.capacity, { cpus: 2, memoryBytes: 4 * 1024 ** 3, diskBytes: 100 * 1024 ** 3 });
});

test("host show of an unknown host fails with exit 1 and a did-you-mean", async () => {
  const r = await corral(["host", "show", "hots1"]);
  assert.deepEqual([r.code, r.stderr], [1, 'corral: host "hots1" not found; did you mean "host1"?\n']);
  const missing = await corral(["host", "show"]);
  assert.equal(missing.code, 2);
});

test("ct stats --follow on a terminal redraws the table in place", async () => {
  const { spawn } = await import("node:child_process");
  const { CORRAL_BIN } = await import("./test-support/run-corral.js");
  // script(1) gives the binary a real pty; the table is redrawn by homing the cursor and clearing.
  const cmd = `"${process.execPath}" "${CORRAL_BIN}" ct stats web --follow --interval 0.2`;
  const child = spawn("script", ["-qec", cmd, "/dev/null"], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CORRAL_CONTROLLER: server.address, TERM: "xterm", ...server.tlsEnv },
  });
  let text = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      if (text.split("\x1b[H\x1b[2J").length > 3) resolve();
    });
    // A follow that ends by itself has failed: say why instead of waiting forever.
    child.on("exit", (code) => reject(new Error(`ct stats --follow exited ${code}: ${text}`)));
  });
  child.kill("SIGTERM");
  const frames = text.split("\x1b[H\x1b[2J").slice(1, 3);
  for (const f of frames) assert.match(f, /^CONTAINER\s+HOST\s+CPU %.*\r?\nweb\s+host1\s+12\.35%/);
});

test("ct top prints each process's host PID, PID inside, user, uid, CPU time and command; --json the array", async () => {
  const r = await corral(["ct", "top", "web"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(out(r).trimEnd().split("\n"), ["HOST PID  PID  USER     UID  TIME  COMMAND", "   31337    1  root  100000  0.25  /sbin/init"]);
  const j = await corral(["ct", "top", "web", "--json"]);
  assert.deepEqual(JSON.parse(out(j)), [{ hostPid: 31337, pid: 1, user: "root", hostUid: 100000, cpuSeconds: 0.25, command: "/sbin/init" }]);
  const missing = await corral(["ct", "top", "nope"]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /container "nope" not found/);
});

test("host pid names the owning container and the PID inside; a PID no container owns fails; a bad PID is a usage error", async () => {
  const r = await corral(["host", "pid", "host1", "31337"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(out(r), "web (lxc on host1), PID 1 inside\n");
  const j = await corral(["host", "pid", "host1", "31337", "--json"]);
  assert.deepEqual(JSON.parse(out(j)), { container: "web", host: "host1", backend: "lxc", pid: 1 });
  const none = await corral(["host", "pid", "host1", "4"]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /no container on host1 owns PID 4/);
  const bad = await corral(["host", "pid", "host1", "12abc"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /PID must be a positive integer, not "12abc"/);
});
