// The `corral` binary as a user runs it, against a real grpc-js server scripted as the controller.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATION_DETAIL_DEFAULTS, type Migration, type MigrationUpdate } from "@corral/wire";
import { ControllerDouble, sampleContainer, sampleHost, serveDouble } from "./test-support/controller-double.js";
import { runCorral, type Run } from "./test-support/run-corral.js";

const MiB = 1024 * 1024;

let double: ControllerDouble;
let server: Awaited<ReturnType<typeof serveDouble>>;
let home: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "corral-cli-e2e-"));
  double = new ControllerDouble();
  double.hosts = [sampleHost("host1", "10.77.0.11:7401"), sampleHost("host2", "10.77.0.12:7401")];
  double.containers.set("c1", sampleContainer("c1", "host1"));
  server = await serveDouble(double);
});
after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

/** Runs `node bin/corral.js ARGS`, with a HOME that holds no config unless the test writes one. */
function corral(args: string[], env: Record<string, string> = {}, withController = true, input?: Buffer): Promise<Run> {
  const argv = withController ? ["--controller", server.address, ...args] : args;
  // The double's CA and the admin's certificate: every call runs over mutual TLS.
  return runCorral(argv, { PATH: process.env.PATH ?? "", HOME: home, ...server.tlsEnv, ...env }, input);
}

const stderrLines = (r: Run) => r.stderr.split("\n").filter((l) => l !== "");

test("ct list --json prints exactly one JSON document with the containers", async () => {
  const r = await corral(["ct", "list", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout.toString("utf8"));
  assert.ok(Array.isArray(doc));
  assert.deepEqual(
    doc.map((c: Record<string, unknown>) => [c.name, c.host, c.backend, c.state, c.desiredState, c.usage]),
    [["c1", "host1", "lxc", "running", "running", null]],
  );
  assert.equal(doc[0].spec.limits.memoryBytes, 256 * MiB);
  assert.equal(r.stderr, "");
});

test("host list prints an aligned table for people and names plus details for scripts", async () => {
  const table = await corral(["host", "list"]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.toString("utf8").trimEnd().split("\n");
  assert.match(lines[0] as string, /^NAME\s+ADDRESS\s+STATE\s+BACKENDS\s+CPUS\s+MEMORY\s+RESERVED\s+CONTAINERS\s+LABELS$/);
  assert.match(lines[1] as string, /^host1\s+10\.77\.0\.11:7401\s+ready\s+lxc\s+2\s+4\.0 GiB\s+512 MiB, 1\.5 cpu\s+2\s+-$/);
  assert.equal(lines.length, 3);
  assert.ok(!table.stdout.includes("\x1b["), "no colour in a pipe");
  const json = await corral(["host", "list", "--json"]);
  const hosts = JSON.parse(json.stdout.toString("utf8"));
  assert.deepEqual(hosts[0].backends, ["lxc"]);
  assert.equal(hosts[0].backendDetails[1].reason, "vzctl not found");
  assert.deepEqual([hosts[0].cpus, hosts[0].memoryBytes, hosts[0].containers], [2, 4 * 1024 ** 3, 2]);
});

test("ct exec passes stdout and stderr bytes through and exits with the command's code", async () => {
  const script = `printf 'out\\000\\377end'; printf 'warn: %s' "$GREETING" >&2; exit 7`;
  const r = await corral(["ct", "exec", "c1", "--env", "GREETING=hi", "--", "sh", "-c", script]);
  assert.equal(r.code, 7);
  assert.deepEqual(r.stdout, Buffer.from([0x6f, 0x75, 0x74, 0x00, 0xff, 0x65, 0x6e, 0x64]));
  assert.equal(r.stderr, "warn: hi");
  const call = double.calls.findLast((c) => c.method === "exec");
  assert.deepEqual(call?.args, ["c1", ["sh", "-c", script], ["GREETING=hi"]]);
});

test("ct exec forwards piped stdin whole, and its end reaches the command as EOF", async () => {
  const hello = await corral(["ct", "exec", "c1", "--", "cat"], {}, true, Buffer.from("hello\n"));
  assert.deepEqual([hello.code, hello.stdout.toString("utf8"), hello.stderr], [0, "hello\n", ""]);
  const blob = randomBytes(3 * MiB);
  const sum = await corral(["ct", "exec", "c1", "--", "sh", "-c", "sha256sum; echo after-eof"], {}, true, blob);
  assert.equal(sum.code, 0, sum.stderr);
  assert.equal(sum.stdout.toString("utf8"), `${createHash("sha256").update(blob).digest("hex")}  -\nafter-eof\n`);
  assert.deepEqual(double.execOptions, { tty: false, size: { cols: 0, rows: 0 }, login: false });
});

test("ct exec -it asks for a terminal of the local size (80x24 without one); ct shell for a login shell", async () => {
  const it = await corral(["ct", "exec", "-it", "c1", "--", "true"]);
  assert.equal(it.code, 0, it.stderr);
  assert.deepEqual(double.execOptions, { tty: true, size: { cols: 80, rows: 24 }, login: false });
  const bad = await corral(["ct", "exec", "-ix", "c1", "--", "true"]);
  assert.equal(bad.code, 2, bad.stderr);
  // Not a terminal: the shell reads its commands from stdin, with no terminal.
  const shell = await corral(["ct", "shell", "c1"], {}, true, Buffer.from("echo shell-ran; exit 6\n"));
  assert.deepEqual([shell.code, shell.stdout.toString("utf8")], [6, "shell-ran\n"]);
  assert.deepEqual(double.execOptions, { tty: false, size: { cols: 0, rows: 0 }, login: true });
  assert.deepEqual(double.calls.findLast((c) => c.method === "exec")?.args, ["c1", [], []]);
});

test("ct exec without -- takes the words after NAME as the command, like docker exec", async () => {
  const r = await corral(["ct", "exec", "c1", "sh", "-c", "echo $0 -l", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  // --json after NAME belongs to the command here, so it reaches sh as $0.
  assert.equal(r.stdout.toString("utf8"), "--json -l\n");
});

test("ct exec --json prints one document holding exit code and both streams", async () => {
  const r = await corral(["--json", "ct", "exec", "c1", "--", "sh", "-c", "echo hello; echo oops >&2; exit 3"]);
  assert.equal(r.code, 3);
  assert.deepEqual(JSON.parse(r.stdout.toString("utf8")), { exitCode: 3, stdout: "hello\n", stderr: "oops\n" });
  assert.equal(r.stderr, "");
});

test("a not_found error from the controller is one line on stderr and exit code 1", async () => {
  const r = await corral(["ct", "show", "nope"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'corral: container "nope" not found\n');
  assert.equal(r.stdout.length, 0);
  const j = await corral(["ct", "stop", "nope", "--json"]);
  assert.deepEqual([j.code, j.stderr, j.stdout.length], [1, 'corral: container "nope" not found\n', 0]);
});

test("an unreachable controller fails within a few seconds with one line and exit code 1", async () => {
  const probe = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => probe.once("listening", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const r = await corral(["--controller", `127.0.0.1:${port}`, "ct", "list"], {}, false);
  assert.equal(r.code, 1);
  assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
  assert.equal(stderrLines(r).length, 1);
  assert.match(r.stderr, new RegExp(`^corral: controller at 127\\.0\\.0\\.1:${port} is unreachable \\(.*ECONNREFUSED.*\\)\\n$`));
});

test("bad flag values fail before any RPC with exit 2; unknown flags and missing arguments too", async () => {
  const before = double.calls.length;
  const mem = await corral(["ct", "create", "c9", "--memory", "lots"]);
  assert.deepEqual([mem.code, mem.stderr], [2, 'corral: invalid memory "lots": expected a size such as 256M, 1G or 512MiB\n']);
  const flag = await corral(["ct", "list", "--colour"]);
  assert.deepEqual([flag.code, flag.stderr], [2, "corral: unknown flag --colour (see corral ct list --help)\n"]);
  const missing = await corral(["ct", "migrate", "c1"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^corral: missing --to HOST/);
  const noController = await corral(["ct", "create", "c9", "--cpus", "lots"], {}, false);
  assert.deepEqual([noController.code, noController.stderr], [2, 'corral: invalid cpus "lots": expected a positive number such as 1 or 0.5\n']);
  assert.equal(double.calls.length, before, "no call reached the controller");
});

test("ct create sends the spec the flags describe and prints where it landed", async () => {
  const r = await corral([
    "ct", "create", "web", "--memory", "512M", "--cpus", "0.5", "--env", "A=1", "--env", "B=x=y",
    "--port", "8080:80", "--port", "5353:53/udp", "--label", "tier=front", "--cmd", "sleep 1000", "--host", "host2",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "created web on host2 (lxc, running)\n");
  const call = double.calls.findLast((c) => c.method === "create");
  assert.deepEqual(call?.args[0], {
    spec: {
      name: "web", backend: "lxc", template: "busybox", image: "",
      limits: { memoryBytes: 512 * MiB, cpus: 0.5 },
      env: ["A=1", "B=x=y"], cmd: ["sleep", "1000"],
      ports: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostPort: 5353, containerPort: 53, protocol: "udp" }],
      labels: { tier: "front" },
    },
    host: "host2",
    start: true,
    constraints: [],
    antiAffinity: "",
    strategy: "",
  });
  const j = await corral(["ct", "create", "idle", "--no-start", "--json"]);
  const c = JSON.parse(j.stdout.toString("utf8"));
  assert.deepEqual([c.name, c.state, c.spec.limits.memoryBytes, c.spec.limits.cpus], ["idle", "stopped", 256 * MiB, 1]);
});

test("ct create passes constraints, anti-affinity and strategy; --dry-run --explain prints each host's verdict and creates nothing", async () => {
  const r = await corral(["ct", "create", "w2", "--constraint", "zone=eu", "--constraint", "disk!=hdd", "--anti-affinity", "web", "--strategy", "spread"]);
  assert.equal(r.code, 0, r.stderr);
  const call = double.calls.findLast((c) => c.method === "create")?.args[0] as Record<string, unknown>;
  assert.deepEqual([call.constraints, call.antiAffinity, call.strategy], [["zone=eu", "disk!=hdd"], "web", "spread"]);

  const bad = await corral(["ct", "create", "w3", "--strategy", "random"]);
  assert.deepEqual([bad.code, bad.stderr], [2, 'corral: invalid strategy "random": expected binpack or spread\n']);
  const badC = await corral(["ct", "create", "w3", "--constraint", "zone"]);
  assert.deepEqual([badC.code, badC.stderr], [2, 'corral: invalid constraint "zone": expected key=value or key!=value\n']);

  double.explanation = {
    host: "host2",
    strategy: "binpack",
    seed: 7,
    verdicts: [
      { host: "host1", filter: "constraint", reason: "constraint zone=eu not met: host has zone=us", score: null },
      { host: "host2", filter: null, reason: "", score: 0.25 },
    ],
  };
  const creates = double.calls.filter((c) => c.method === "create").length;
  const e = await corral(["ct", "create", "w4", "--constraint", "zone=eu", "--dry-run", "--explain"]);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(e.stdout.toString("utf8").split("\n"), [
    "HOST   VERDICT   FILTER      REASON / SCORE",
    "host1  rejected  constraint  constraint zone=eu not met: host has zone=us",
    "host2  chosen                score 0.250",
    "would place w4 on host2 (binpack)",
    "",
  ]);
  const ej = await corral(["ct", "create", "w4", "--dry-run", "--explain", "--json"]);
  assert.deepEqual(JSON.parse(ej.stdout.toString("utf8")), {
    host: "host2",
    verdicts: [
      { host: "host1", filter: "constraint", reason: "constraint zone=eu not met: host has zone=us", score: null },
      { host: "host2", filter: null, reason: "", score: 0.25 },
    ],
  });
  assert.equal(double.calls.filter((c) => c.method === "create").length, creates, "a dry run creates nothing");
});

test("ct set changes only the limits given and keeps the other", async () => {
  const before = double.calls.length;
  const r = await corral(["ct", "set", "web", "--memory", "1G"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "web: memory 1.0 GiB, cpus 0.5\n");
  // One call carrying only the limit given; the controller keeps cpus (0.5) itself.
  assert.deepEqual(double.calls.slice(before).map((c) => c.method), ["setLimits"]);
  assert.deepEqual(double.calls.findLast((c) => c.method === "setLimits")?.args, ["web", { memoryBytes: 1024 ** 3, cpus: undefined }]);
});

function script(phases: [Migration["phase"], number][], total: number, extra: Partial<Migration> = {}): MigrationUpdate[] {
  return phases.map(([phase, bytes]) => ({
    migration: {
      id: "m-1", container: "", sourceHost: "", targetHost: "", phase, bytes, totalBytes: total, error: "",
      startedUnixMs: 10_000, finishedUnixMs: 0, downtimeMs: 0, compression: "none", sha256: "", ...MIGRATION_DETAIL_DEFAULTS,
      ...(phase === "done" || phase === "rolled_back" ? extra : {}),
    },
    rateBytesPerSecond: 1.5 * MiB,
    etaSeconds: (total - bytes) / (1.5 * MiB),
  }));
}

test("ct migrate shows phases on a non-terminal stderr and ends with the summary line", async () => {
  const total = Math.round(2.1 * MiB);
  double.migrationScript = script(
    [["planned", 0], ["target_reserved", 0], ["source_stopped", 0], ["transferring", MiB], ["transferring", total],
     ["transferred", total], ["target_started", total], ["source_removed", total], ["done", total]],
    total,
    { finishedUnixMs: 12_400, downtimeMs: 2_300 },
  );
  const r = await corral(["ct", "migrate", "c1", "--to", "host2", "--compression", "zstd"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString("utf8"), "c1 migrated host1 → host2: 2.1 MiB in 2.4 s (downtime 2.3 s)\n");
  assert.deepEqual(stderrLines(r), [
    "c1: planned (host1 → host2, compression zstd)",
    "c1: target_reserved",
    "c1: source_stopped",
    "c1: transferring",
    "c1: transferred",
    "c1: target_started",
    "c1: source_removed",
    "c1: done",
  ]);
  assert.deepEqual(double.calls.findLast((c) => c.method === "migrate")?.args, ["c1", "host2", "zstd"]);
  const j = await corral(["ct", "migrate", "c1", "--to", "host2", "--json"]);
  assert.equal(j.code, 0);
  const m = JSON.parse(j.stdout.toString("utf8"));
  assert.deepEqual([m.phase, m.targetHost, m.downtimeMs], ["done", "host2", 2_300]);
});

test("a migration that rolls back exits 1 with the controller's message", async () => {
  double.migrationScript = script(
    [["planned", 0], ["transferring", 0], ["rolling_back", 0], ["rolled_back", 0]],
    MiB,
    { error: "sha256 mismatch: archive corrupted in transit", finishedUnixMs: 11_000 },
  );
  const r = await corral(["ct", "migrate", "c1", "--to", "host2"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.length, 0);
  assert.equal(stderrLines(r).at(-1), "corral: sha256 mismatch: archive corrupted in transit (rolled back: c1 runs on host1)");
});

test("image import streams the file in 1 MiB chunks after a header and prints a line per host", async () => {
  const file = join(home, "app.tar");
  const data = Buffer.alloc(Math.round(2.5 * MiB), 7);
  data.write("not really a tar", 0);
  writeFileSync(file, data);
  const r = await corral(["image", "import", file, "--name", "app:1", "--host", "host1", "--host", "host2"]);
  assert.equal(r.code, 0, r.stderr);
  const sha = createHash("sha256").update(data).digest("hex");
  assert.deepEqual(double.imported?.header, { name: "app:1", backend: "docker", sizeBytes: data.length, hosts: ["host1", "host2"] });
  assert.deepEqual(double.imported?.chunkSizes, [MiB, MiB, data.length - 2 * MiB]);
  assert.equal(double.imported?.sha256, sha);
  assert.deepEqual(r.stdout.toString("utf8").trimEnd().split("\n"), [
    `host1: imported app:1 (docker, 2.5 MiB) sha256:${sha.slice(0, 12)}`,
    `host2: imported app:1 (docker, 2.5 MiB) sha256:${sha.slice(0, 12)}`,
  ]);
  const missing = await corral(["image", "import", join(home, "absent.tar"), "--name", "x"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^corral: cannot read .*absent\.tar: ENOENT\n$/);
});

test("the controller address comes from CORRAL_CONTROLLER or the config file when no flag is given", async () => {
  const fromEnv = await corral(["ct", "list", "--json"], { CORRAL_CONTROLLER: server.address }, false);
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  const cfg = join(home, "corral.json");
  writeFileSync(cfg, JSON.stringify({ controller: server.address }));
  const fromFile = await corral(["ct", "list", "--json"], { CORRAL_CONFIG: cfg }, false);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const none = await corral(["ct", "list"], {}, false);
  assert.deepEqual([none.code, none.stderr], [
    1,
    "corral: no controller configured: pass --controller, set CORRAL_CONTROLLER, or run deploy/local-cluster.sh up\n",
  ]);
});

test("help and version need no controller", async () => {
  const v = await corral(["--version"], {}, false);
  assert.deepEqual([v.code, v.stdout.toString("utf8")], [0, "corral 0.1.0\n"]);
  const h = await corral(["--help"], {}, false);
  assert.equal(h.code, 0);
  assert.match(h.stdout.toString("utf8"), /ct migrate\s+Move a container/);
  const n = await corral(["ct", "--help"], {}, false);
  assert.match(n.stdout.toString("utf8"), /ct exec/);
  const c = await corral(["ct", "create", "--help"], {}, false);
  assert.match(c.stdout.toString("utf8"), /--no-start/);
});

test("ct exec keeps every byte of a large binary output", async () => {
  const sh = 'f=$(mktemp); head -c 8000000 /dev/urandom >"$f"; sha256sum <"$f" | cut -d" " -f1 >&2; cat "$f"; rm -f "$f"';
  const r = await corral(["ct", "exec", "c1", "--", "sh", "-c", sh]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, 8_000_000);
  assert.equal(createHash("sha256").update(r.stdout).digest("hex"), r.stderr.trim());
});

test("cluster init writes the CA and credentials with private modes and a config that verifies the controller; never twice", async () => {
  const state = join(home, "state");
  const cfg = join(home, "init-config.json");
  writeFileSync(cfg, JSON.stringify({ controller: "old:1", extra: true }));
  const r = await corral(["cluster", "init", "--state-dir", state, "--controller", "10.0.0.5:7400", "--json"], { CORRAL_CONFIG: cfg }, false);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout.toString("utf8"));
  assert.match(doc.caFingerprint, /^sha256:[0-9a-f]{64}$/);
  const pki = join(state, "pki");
  assert.equal(statSync(state).mode & 0o777, 0o700);
  assert.equal(statSync(pki).mode & 0o777, 0o700);
  for (const key of ["ca.key", "controller.key", "admin.key"]) assert.equal(statSync(join(pki, key)).mode & 0o777, 0o600, key);
  const written = JSON.parse(readFileSync(cfg, "utf8"));
  assert.deepEqual(written, { controller: "10.0.0.5:7400", extra: true, ca: join(pki, "ca.pem"), cert: join(pki, "admin.pem"), key: join(pki, "admin.key") });
  assert.equal(statSync(cfg).mode & 0o777, 0o600);
  const again = await corral(["cluster", "init", "--state-dir", state], { CORRAL_CONFIG: cfg }, false);
  assert.deepEqual([again.code, again.stderr], [1, `corral: ${join(pki, "ca.key")} already exists; refusing to overwrite it\n`]);
  // That config's CA is not the one the double serves under: the CLI refuses to talk to it.
  const wrong = await corral(["--controller", server.address, "host", "list"], { CORRAL_CONFIG: cfg, CORRAL_CA: "", CORRAL_CERT: "", CORRAL_KEY: "" }, false);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^corral: controller at 127\.0\.0\.1:\d+ failed TLS verification: self-signed certificate in certificate chain\n$/);
});

test("without a CA the CLI says how to get one; without a client certificate the controller refuses", async () => {
  const noCa = await corral(["host", "list"], { CORRAL_CA: "", CORRAL_CERT: "", CORRAL_KEY: "" });
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /^corral: no cluster CA configured: run "corral cluster init" on the controller/);
  const anonymous = await corral(["host", "list"], { CORRAL_CERT: "", CORRAL_KEY: "" });
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /^corral: listHosts needs a client certificate issued by this cluster's CA/);
});

test("host join-token prints the token; host rm removes and names the revoked certificate", async () => {
  const t = await corral(["host", "join-token", "--ttl", "30m"]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout.toString("utf8"), /^corral1:[0-9a-f]{64}:[0-9a-f]{12}\.[0-9a-f]{32}\n$/);
  assert.deepEqual(double.calls.at(-1), { method: "createJoinToken", args: [1800] });
  const bad = await corral(["host", "join-token", "--ttl", "soon"]);
  assert.deepEqual([bad.code, bad.stderr], [2, 'corral: invalid --ttl "soon": expected a positive number with a unit s, m, h, d or w, such as 12h or 30d\n']);
  double.hosts.push(sampleHost("host9", "10.77.0.19:7401"));
  const rm = await corral(["host", "rm", "host9"]);
  assert.deepEqual([rm.code, rm.stdout.toString("utf8")], [0, "removed host9; certificate 1a2b revoked\n"]);
  const missing = await corral(["host", "rm", "host9"]);
  assert.deepEqual([missing.code, missing.stderr], [1, 'corral: host "host9" not found\n']);
});
