// The Docker backend against real dockerds started here, each on its own socket and data root, so
// the test neither depends on nor disturbs the machine's own dockerd (whose docker0 bridge other
// tests may remove). The second one stands for another host in the migration test.
import { buildBusyboxRootfs } from "../../test-support/busybox-rootfs.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import Docker from "dockerode";
import type { ContainerSpec, ExecOutput } from "@corral/wire";
import { createDockerBackend } from "./index.js";
import { runtimeName } from "./runtime-names.js";
import { hasExitReasons } from "../backend.js";
import {
  dockerdRunnable,
  importTestImage,
  removeCgroupDirs,
  sleepSpec,
  startExtraDockerd,
  type ExtraDockerd,
} from "../../test-support/docker.js";
import { testContext } from "../../test-support/context.js";

const MiB = 1024 * 1024;
const skip = (await dockerdRunnable()) ? false : "dockerd is not installed or this is not root";
const tag = `t${process.pid}`;

type Code = Error & { code?: string };
const hasCode = (code: string, re?: RegExp) => (e: Code) => {
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

async function collect(it: AsyncIterable<ExecOutput>): Promise<{ stdout: string; stderr: string; code: number; order: string[] }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const order: string[] = [];
  let code = -1;
  for await (const o of it) {
    order.push(o.kind);
    if (o.kind === "stdout") out.push(o.data);
    else if (o.kind === "stderr") err.push(o.data);
    else code = o.code;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, order };
}

describe("docker backend", { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), "corral-docker-"));
  const host = `${tag}a`;
  const cgroupParent = `/corral-${tag}-parent`;
  let sock = "";
  let docker: Docker;
  let backend: ReturnType<typeof createDockerBackend>;
  let neighbour: ReturnType<typeof createDockerBackend>;
  let tarball = "";
  let main: ExtraDockerd | undefined;

  before(async () => {
    main = await startExtraDockerd(`${tag}a`);
    sock = main.socketPath;
    docker = new Docker({ socketPath: sock });
    backend = createDockerBackend(testContext(host, join(root, host)), { socketPath: sock, cgroupParent });
    neighbour = createDockerBackend(testContext(`${tag}n`, join(root, "n")), { socketPath: sock });
    tarball = buildBusyboxRootfs({ dir: root }).tarball;
    await importTestImage(sock, tarball, root);
  });
  after(async () => {
    await main?.stop();
    await removeCgroupDirs(cgroupParent);
    rmSync(root, { recursive: true, force: true });
  });

  test("probe says why when the socket is missing, and succeeds on the real one", async () => {
    const missing = createDockerBackend(testContext("x", root), { socketPath: "/run/no-such-docker.sock" });
    assert.deepEqual(await missing.probe(), { available: false, reason: "dockerd socket /run/no-such-docker.sock not found" });
    assert.deepEqual(await backend.probe(), { available: true, reason: "" });
  });

  test("image import takes .tar and .tar.gz, sets a default Cmd, and refuses other bytes", async () => {
    const gz = buildBusyboxRootfs({ dir: join(root, "gz"), gzip: true }).tarball;
    const info = await backend.importImage("corral-test/busybox-gz:2", createReadStream(gz));
    assert.equal(info.backend, "docker");
    assert.equal(info.host, host);
    assert.match(info.id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(info.sizeBytes > 500_000, `size ${info.sizeBytes}`);
    const img = await docker.getImage("corral-test/busybox-gz:2").inspect();
    assert.equal(img.Id, info.id);
    assert.deepEqual(img.Config.Cmd, ["sh"]);
    await docker.getImage(info.id).remove();
    await assert.rejects(
      backend.importImage("corral-test/bad:1", Readable.from([Buffer.from("this is not a tarball at all")])),
      hasCode("invalid_argument", /neither a tar/),
    );
  });

  test("create refuses a spec without image, and names a missing image", async () => {
    await assert.rejects(backend.create({ ...sleepSpec("noimg"), image: "" }), hasCode("invalid_argument", /need --image/));
    await assert.rejects(
      backend.create({ ...sleepSpec("noimg"), image: "corral-test/absent:1" }),
      hasCode("not_found", /image "corral-test\/absent:1" not found on .*; import it with corral image import/),
    );
    await backend.create({ ...sleepSpec("badcmd"), cmd: ["/no/such/binary"] });
    await assert.rejects(backend.start("badcmd"), hasCode("failed_precondition", /container "badcmd" cannot start: .*no such file/));
    await backend.remove("badcmd");
  });

  test("create maps env, cmd, labels, ports, limits and cgroup parent onto the Docker container", async () => {
    const spec: ContainerSpec = {
      ...sleepSpec("app"),
      env: ["GREETING=hello world", "EMPTY="],
      labels: { team: "blue" },
      ports: [{ hostPort: 0, containerPort: 8080, protocol: "tcp" }],
      limits: { memoryBytes: 64 * MiB, cpus: 0.5 },
    };
    const st = await backend.create(spec);
    assert.deepEqual(st, { name: "app", backend: "docker", state: "stopped", initPid: 0, limits: spec.limits });
    const info = await docker.getContainer(runtimeName(host, "app")).inspect();
    assert.equal(info.Name, `/corral-${host}-app`);
    assert.deepEqual(info.Config.Cmd, spec.cmd);
    assert.ok(info.Config.Env.includes("GREETING=hello world"));
    assert.equal(info.Config.Labels["team"], "blue");
    assert.equal(info.Config.Labels["corral.host"], host);
    assert.equal(info.Config.Labels["corral.name"], "app");
    assert.deepEqual(Object.keys(info.Config.ExposedPorts ?? {}), ["8080/tcp"]);
    assert.deepEqual(info.HostConfig.PortBindings, { "8080/tcp": [{ HostIp: "", HostPort: "" }] });
    assert.equal(info.HostConfig.Memory, 64 * MiB);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    assert.equal(info.HostConfig.CgroupParent, cgroupParent);
    assert.equal(info.HostConfig.RestartPolicy?.Name, "no");
    await assert.rejects(backend.create(spec), hasCode("already_exists", /container "app" already exists/));
  });

  test("hosts sharing one dockerd only see their own containers", async () => {
    await neighbour.create(sleepSpec("app"));
    assert.deepEqual((await backend.list()).map((c) => c.name), ["app"]);
    assert.deepEqual((await neighbour.list()).map((c) => c.name), ["app"]);
    await neighbour.remove("app");
    assert.deepEqual(await neighbour.list(), []);
    assert.equal((await backend.inspect("app")).state, "stopped");
  });

  test("start, exec with ordered stdout/stderr and exit codes, usage from cgroup files", async () => {
    const st = await backend.start("app");
    assert.equal(st.state, "running");
    assert.ok(st.initPid > 0);
    assert.equal((await backend.start("app")).state, "running", "start on a running container is a no-op");
    assert.ok(readFileSync(`/proc/${st.initPid}/cgroup`, "utf8").includes(`${cgroupParent}/`));

    const r = await collect(backend.exec("app", ["sh", "-c", 'echo "$GREETING"; echo err >&2; echo "$X"; exit 3'], ["X=from-exec"], new AbortController().signal));
    assert.equal(r.stdout, "hello world\nfrom-exec\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.code, 3);
    assert.equal(r.order.at(-1), "exit");

    // 2 MiB through the multiplexed stream, split across many frames and reads.
    const big = await collect(backend.exec("app", ["sh", "-c", "head -c 2097152 /dev/zero | tr '\\0' x"], [], new AbortController().signal));
    assert.equal(big.stdout.length, 2 * MiB);
    assert.equal(big.code, 0);

    // Burn some CPU so the next sample shows it.
    await collect(backend.exec("app", ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], [], new AbortController().signal));
    await backend.usage();
    const [u] = (await backend.usage()).filter((x) => x.name === "app");
    assert.ok(u);
    assert.equal(u.state, "running");
    assert.ok(u.pids >= 2, `pids ${u.pids}`); // sh and sleep
    assert.ok(u.cpuNanos > 1_000_000, `cpu ${u.cpuNanos}`);
    assert.ok(u.memoryBytes > 0);
    assert.equal(u.memoryLimitBytes, 64 * MiB);
  });

  test("exec on an unknown or stopped container fails clearly; aborting an exec kills it", async () => {
    await assert.rejects(collect(backend.exec("ghost", ["true"], [], new AbortController().signal)), hasCode("not_found", /container "ghost" not found/));
    const ac = new AbortController();
    const t0 = Date.now();
    const it = backend.exec("app", ["sh", "-c", "echo started; sleep 600"], [], ac.signal);
    const done = (async () => {
      for await (const o of it) if (o.kind === "stdout") ac.abort();
    })();
    await assert.rejects(done, hasCode("cancelled"));
    assert.ok(Date.now() - t0 < 5000);
    await new Promise((r) => setTimeout(r, 200));
    const ps = await collect(backend.exec("app", ["ps", "-o", "args"], [], new AbortController().signal));
    assert.doesNotMatch(ps.stdout, /sleep 600/);
  });

  test("live limits go through docker update and refuse to lift a limit", async () => {
    const st = await backend.setLimits("app", { memoryBytes: 128 * MiB, cpus: 1.5 });
    assert.deepEqual(st.limits, { memoryBytes: 128 * MiB, cpus: 1.5 });
    const info = await docker.getContainer(runtimeName(host, "app")).inspect();
    assert.equal(info.HostConfig.Memory, 128 * MiB);
    assert.equal(info.HostConfig.MemorySwap, 128 * MiB);
    const u = (await backend.usage()).find((x) => x.name === "app");
    assert.equal(u?.memoryLimitBytes, 128 * MiB);
    await assert.rejects(backend.setLimits("app", { memoryBytes: 0, cpus: 1 }), hasCode("invalid_argument", /cannot remove the memory limit/));
  });

  test("stop honours the timeout, is a no-op when stopped, and archive wants it stopped", async () => {
    await assert.rejects(backend.archive("app"), hasCode("failed_precondition", /stop it before archiving/));
    const t0 = Date.now();
    assert.equal((await backend.stop("app", 10)).state, "stopped");
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
    assert.deepEqual(await backend.stop("app", 10), { name: "app", backend: "docker", state: "stopped", initPid: 0, limits: { memoryBytes: 128 * MiB, cpus: 1.5 } });
    const u = (await backend.usage()).find((x) => x.name === "app");
    assert.equal(u?.state, "stopped");
    await assert.rejects(collect(backend.exec("app", ["true"], [], new AbortController().signal)), hasCode("failed_precondition", /not running/));
  });

  test("the last exit is the stopped run's; while a next run goes, there is none (dockerd has reset its code)", async () => {
    // Exits 7 the first time, then runs: as a crashed container the reconciler started again.
    assert.ok(hasExitReasons(backend));
    const reasons = backend;
    await backend.create({ ...sleepSpec("exits"), cmd: ["sh", "-c", "if [ -f /once ]; then exec sleep 600; fi; touch /once; echo about-to-fail; exit 7"] });
    try {
      await backend.start("exits");
      const t0 = Date.now();
      let last = await reasons.lastExit("exits");
      while (!last && Date.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 100));
        last = await reasons.lastExit("exits");
      }
      assert.equal(last?.exitCode, 7, JSON.stringify(last));
      assert.equal(last?.reason, "exited with code 7");
      assert.match(last?.logTail ?? "", /about-to-fail/);
      assert.equal((await backend.start("exits")).state, "running");
      assert.equal(await reasons.lastExit("exits"), undefined);
    } finally {
      await backend.remove("exits").catch(() => undefined);
    }
  });

  test("restore refuses unknown formats and foreign bytes", async () => {
    const staging = mkdtempSync(join(backend.stagingRoot(), "bad-"));
    await assert.rejects(backend.stageRestore("x", "lxc-dir-tar/1", Readable.from([Buffer.from("x")]), staging), hasCode("invalid_argument", /lxc-dir-tar\/1/));
    await assert.rejects(
      backend.stageRestore("x", "docker-export+config/1", Readable.from([Buffer.alloc(4096, 7)]), staging),
      hasCode("invalid_argument", /not a docker-export\+config\/1 archive/),
    );
    await assert.rejects(backend.commitRestore("x", staging), hasCode("failed_precondition"));
    rmSync(staging, { recursive: true, force: true });
  });

  test("destroy removes it; unknown containers are not found", async () => {
    await backend.remove("app");
    await assert.rejects(backend.inspect("app"), hasCode("not_found", /container "app" not found on/));
    await assert.rejects(backend.remove("app"), hasCode("not_found"));
    await assert.rejects(backend.start("app"), hasCode("not_found"));
    assert.deepEqual(await backend.list(), []);
  });

  describe("migration to a second dockerd", () => {
    let extra: ExtraDockerd;
    let target: ReturnType<typeof createDockerBackend>;
    const targetHost = `${tag}b`;

    before(async () => {
      extra = await startExtraDockerd(`${tag}b`);
      target = createDockerBackend(testContext(targetHost, join(root, targetHost)), { socketPath: extra.socketPath });
    });
    after(async () => {
      await extra?.stop();
    });

    test("carries files, numeric owners, Env, Cmd, Entrypoint, WorkingDir, User, ports, labels and limits", async () => {
      const src = createDockerBackend(testContext(`${tag}s`, join(root, "s")), { socketPath: sock });
      // An app image whose own config sets what the spec does not: Entrypoint, WorkingDir, User, Env.
      const res = await docker.importImage(createReadStream(tarball), {
        repo: "corral-test/app",
        tag: "1",
        changes: ['ENTRYPOINT ["/bin/busybox"]', "WORKDIR /srv", "USER 0:0", "ENV FROM_IMAGE=yes", 'CMD ["sh"]'],
      });
      for await (const _ of res as AsyncIterable<Buffer>) void _;
      const spec: ContainerSpec = {
        ...sleepSpec("mig"),
        image: "corral-test/app:1",
        env: ["APP_MODE=production", "QUOTED=a \"b\" $c"],
        labels: { tier: "web" },
        ports: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }],
        limits: { memoryBytes: 64 * MiB, cpus: 1 },
      };
      await src.create(spec);
      try {
        await src.start("mig");
        const w = await collect(src.exec("mig", ["sh", "-c", "echo payload > /srv/data.txt && chown 1234:2345 /srv/data.txt"], [], new AbortController().signal));
        assert.equal(w.code, 0, w.stderr);
        await src.stop("mig", 10);
        const srcInfo = await docker.getContainer(runtimeName(`${tag}s`, "mig")).inspect();

        const out = await src.archive("mig");
        assert.equal(out.format, "docker-export+config/1");
        assert.ok(out.estimatedBytes > 500_000, `estimate ${out.estimatedBytes}`);
        const staging = mkdtempSync(join(target.stagingRoot(), "mig-"));
        await target.stageRestore("mig", out.format, out.stream, staging);
        await out.finished;
        assert.ok(existsSync(join(staging, "config.json")) && existsSync(join(staging, "rootfs.tar")));
        const st = await target.commitRestore("mig", staging);
        rmSync(staging, { recursive: true, force: true });
        assert.deepEqual(st, { name: "mig", backend: "docker", state: "stopped", initPid: 0, limits: spec.limits });

        const other = new Docker({ socketPath: extra.socketPath });
        const info = await other.getContainer(runtimeName(targetHost, "mig")).inspect();
        assert.deepEqual(info.Config.Cmd, srcInfo.Config.Cmd);
        assert.deepEqual(info.Config.Cmd, SLEEP);
        assert.deepEqual([...info.Config.Env].sort(), [...srcInfo.Config.Env].sort());
        assert.ok(info.Config.Env.includes("FROM_IMAGE=yes"));
        assert.deepEqual(info.Config.Entrypoint, ["/bin/busybox"]);
        assert.equal(info.Config.WorkingDir, "/srv");
        assert.equal(info.Config.User, "0:0");
        assert.deepEqual(Object.keys(info.Config.ExposedPorts ?? {}), ["80/tcp"]);
        assert.ok(info.Config.Env.includes('QUOTED=a "b" $c'));
        assert.equal(info.Config.Labels["tier"], "web");
        assert.equal(info.Config.Labels["corral.host"], targetHost);
        assert.deepEqual(info.HostConfig.PortBindings, srcInfo.HostConfig.PortBindings);
        assert.equal(info.HostConfig.Memory, 64 * MiB);
        assert.equal(info.HostConfig.NanoCpus, 1e9);
        // The migrated image carries the config too, unlike a plain export | import.
        const img = await other.getImage(info.Config.Image).inspect();
        assert.match(info.Config.Image, new RegExp(`^corral-migrated/${targetHost}-mig:[0-9a-f]{12}$`));
        assert.deepEqual(img.Config.Cmd, SLEEP);
        assert.ok(img.Config.Env.includes("APP_MODE=production"));
        assert.ok(img.Config.Env.includes('QUOTED=a "b" $c'));
        assert.deepEqual(img.Config.Entrypoint, ["/bin/busybox"]);
        assert.equal(img.Config.WorkingDir, "/srv");
        assert.equal(img.Config.Labels?.["tier"], "web");
        assert.equal(img.Config.Labels?.["corral.host"], undefined, "the image does not claim a host");

        assert.equal((await target.start("mig")).state, "running");
        const r = await collect(target.exec("mig", ["sh", "-c", 'stat -c %u:%g data.txt; cat data.txt; echo "$APP_MODE"; pwd'], [], new AbortController().signal));
        assert.equal(r.stdout, "1234:2345\npayload\nproduction\n/srv\n");
        assert.ok(readFileSync(`/proc/${(await target.inspect("mig")).initPid}/cgroup`, "utf8").includes(`${extra.cgroupParent}/`));
        assert.equal((await target.stop("mig", 10)).state, "stopped");

        await target.remove("mig");
        await assert.rejects(other.getImage(info.Config.Image).inspect(), /no such image/i);
      } finally {
        await src.remove("mig").catch(() => undefined);
      }
    });

    test("a plain export | import, by contrast, loses Cmd and Env", async () => {
      const src = createDockerBackend(testContext(`${tag}p`, join(root, "p")), { socketPath: sock });
      await src.create({ ...sleepSpec("plain"), env: ["APP_MODE=production"] });
      try {
        const exported = await docker.getContainer(runtimeName(`${tag}p`, "plain")).export();
        const other = new Docker({ socketPath: extra.socketPath });
        const res = await other.importImage(exported, { repo: "corral-test/plain", tag: "1" });
        for await (const _ of res as AsyncIterable<Buffer>) void _;
        const img = await other.getImage("corral-test/plain:1").inspect();
        assert.equal(img.Config.Cmd, null);
        assert.ok(!(img.Config.Env ?? []).includes("APP_MODE=production"));
        await other.getImage("corral-test/plain:1").remove();
      } finally {
        await src.remove("plain");
      }
    });
  });
});

const SLEEP = sleepSpec("x").cmd;
