// Docker backend: the Engine API over dockerd's unix socket, through dockerode. Every container
// is `corral-<host>-<name>` with corral.host/corral.name labels, so several emulated hosts can
// share one dockerd without seeing each other's containers.
import { killTree } from "../../process/tree.js";
import { createReadStream, mkdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable, type Duplex } from "node:stream";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import {
  CorralError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  type ContainerSpec,
  type ContainerStatus,
  type ContainerUsage,
  type ExecOutput,
  type ImageInfo,
  type Limits,
  type LogsOptions,
  type ExitInfo,
  type TerminalSize,
  withDeadline,
} from "@corral/wire";
import { landing, stageCopy, type CopyTarget } from "../../files/container-copy.js";
import { createTarStream, type TarOut } from "../../archive/tar-stream.js";
import Docker from "dockerode";
import { assertArchiveFormat, requireNetwork, type ArchiveOut, type Backend, type BackendContext, type ExecIo, type ExitReasons, type ImageImport, type LiveLimits, type ProbeResult } from "../backend.js";
import { CORRAL_NETWORK, corralLabels, createOptions, limitsFromHostConfig, networkFields, portBindings, resourceFields, statusFromInspect, type PortBindings, type ResourceFields } from "./config.js";
import type { Nic } from "../../network/nic.js";
import { networkOf } from "../../network/host-network.js";
import { daemonMessage, dockerError, statusOf } from "./errors.js";
import { demuxFrames, rawOutput } from "./exec-stream.js";
import { clampSize, pumpInput } from "../../process/exec-io.js";
import { imageChanges } from "./image-changes.js";
import { importRootfs, sniffTarball, splitImageRef } from "./image-import.js";
import {
  ARCHIVE_FORMAT,
  CONFIG_FILE,
  ROOTFS_FILE,
  configFromInspect,
  encodeArchive,
  migrationConfig,
  stageArchive,
  type MigrationConfig,
} from "./archive.js";
import { LABEL_NAME, hostFilter, isMigratedImage, migratedImageRepo, runtimeName } from "./runtime-names.js";
import { UsageSampler } from "./usage.js";

export interface DockerBackendOptions {
  /** dockerd's API socket, e.g. /run/docker.sock. */
  socketPath: string;
  /** HostConfig.CgroupParent for every container, when this host's dockerd is shared or nested. */
  cgroupParent?: string;
}

/** Default CMD for imported rootfs images, so `ct create --image NAME` works without --cmd. */
const DEFAULT_IMPORT_CHANGES = ['CMD ["sh"]'];
const PING_TIMEOUT_MS = 5000;

/** Lines of a container's log that ct show gives with its exit. */
const EXIT_LOG_LINES = 10;

export class DockerBackend implements Backend, LiveLimits, ImageImport, ExitReasons {
  readonly name = "docker" as const;
  readonly archiveFormat = ARCHIVE_FORMAT;
  private readonly docker: Docker;
  private readonly sampler: UsageSampler;

  constructor(
    private readonly ctx: BackendContext,
    private readonly opts: DockerBackendOptions,
  ) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    this.sampler = new UsageSampler(this.docker, ctx.hostName);
  }

  async probe(): Promise<ProbeResult> {
    const sock = this.opts.socketPath;
    try {
      if (!(await stat(sock)).isSocket()) return { available: false, reason: `dockerd socket ${sock} is not a socket` };
    } catch {
      return { available: false, reason: `dockerd socket ${sock} not found` };
    }
    try {
      await withDeadline(this.docker.ping(), PING_TIMEOUT_MS, () => new Error(`no answer within ${PING_TIMEOUT_MS} ms`));
      return { available: true, reason: "" };
    } catch (err) {
      return { available: false, reason: `dockerd at ${sock} does not answer /_ping: ${daemonMessage(err)}` };
    }
  }

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    if (!spec.image) throw invalidArgument("docker containers need --image");
    const nic = spec.ipv4 ? await this.corralNetwork(spec.ipv4) : undefined;
    try {
      await this.docker.createContainer(createOptions(this.ctx.hostName, spec, this.opts.cgroupParent, nic, this.ctx.network?.hostIp ?? ""));
    } catch (err) {
      throw this.createError(spec.name, spec.image, err);
    }
    // A container Docker has just created is stopped with exactly the requested limits: no inspect needed.
    return { name: spec.name, backend: "docker", state: "stopped", initPid: 0, limits: { ...spec.limits } };
  }

  async start(name: string): Promise<ContainerStatus> {
    await this.call(name, "start", () => this.container(name).start(), [304], {
      // e.g. "executable file not found": the container exists but its config cannot run.
      400: (err) => failedPrecondition(`container "${name}" cannot start: ${daemonMessage(err)}`, err),
    });
    return this.inspect(name);
  }

  async stop(name: string, timeoutSeconds: number): Promise<ContainerStatus> {
    const t = Math.max(0, Math.round(timeoutSeconds));
    await this.call(name, "stop", () => this.container(name).stop({ t }), [304]);
    return this.inspect(name);
  }

  async remove(name: string): Promise<void> {
    const info = await this.inspectRaw(name);
    await this.call(name, "remove", () => this.container(name).remove({ force: true, v: true }));
    // Images made by a restore belong to this one container: drop them with it.
    const image = info.Config?.Image ?? "";
    if (isMigratedImage(image)) await this.docker.getImage(image).remove().catch(() => undefined);
  }

  async inspect(name: string): Promise<ContainerStatus> {
    return statusFromInspect(name, await this.inspectRaw(name));
  }

  async list(): Promise<ContainerStatus[]> {
    const list = await this.wrap("list containers", () =>
      this.docker.listContainers({ all: true, filters: hostFilter(this.ctx.hostName) }),
    );
    const out = await Promise.all(
      list.map(async (c) => {
        const info = await this.docker
          .getContainer(c.Id)
          .inspect()
          .catch(() => undefined); // removed meanwhile
        const name = c.Labels[LABEL_NAME];
        return info && name ? statusFromInspect(name, info) : undefined;
      }),
    );
    return out.filter((s): s is ContainerStatus => s !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async *exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput> {
    if (!argv.length) throw invalidArgument(`exec in "${name}" needs a command`);
    const tty = io?.tty;
    const notRunning = { 409: () => failedPrecondition(`container "${name}" is not running on ${this.ctx.hostName}`) };
    const exec = await this.call(
      name,
      "exec",
      () =>
        this.container(name).exec({
          Cmd: argv,
          Env: tty && !env.some((e) => e.startsWith("TERM=")) ? [...env, "TERM=xterm"] : env,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: tty !== undefined,
        }),
      [],
      notRunning,
    );
    // The hijacked connection carries stdin one way and the output the other; without a tty the
    // output is multiplexed (stdout/stderr frames), with one it is the terminal's raw bytes.
    const stream = (await this.call(name, "exec", () => exec.start({ hijack: true, stdin: true, Tty: tty !== undefined }), [], notRunning)) as Duplex;
    const cancelled = (): CorralError => new CorralError("cancelled", `exec in "${name}" was cancelled`);
    let exited = false;
    const onAbort = (): void => {
      stream.destroy();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("error", () => undefined); // surfaced by the read loop below
    const stop = new AbortController();
    const resize = (size: TerminalSize): Promise<void> => {
      const c = clampSize(size);
      return exec.resize({ h: c.rows, w: c.cols });
    };
    // Docker starts the process after answering the start call, and API 1.41 has no ConsoleSize:
    // the first size is set once the process runs, retried as the docker CLI does (initTtySize).
    if (tty) {
      void (async () => {
        for (let i = 1; i <= 10 && !stop.signal.aborted; i++) {
          if (await resize(tty).then(() => true, () => false)) return;
          await new Promise((r) => setTimeout(r, 10 * i));
        }
      })();
    }
    void pumpInput(
      io?.input,
      {
        write: async (data) => {
          if (stream.destroyed || stream.writableEnded) return;
          if (!stream.write(data)) await once(stream, "drain", { signal: stop.signal }).catch(() => undefined);
        },
        // Without a tty, half-close: Docker closes the command's stdin. On a terminal, EOF is Ctrl-D.
        end: () => {
          if (stream.destroyed || stream.writableEnded) return;
          if (tty) stream.write("\x04");
          else stream.end();
        },
        resize: (size) => void resize(size).catch(() => undefined), // the exec may have ended
      },
      stop.signal,
    );
    try {
      if (signal.aborted) throw cancelled();
      try {
        const output = tty ? rawOutput(stream) : demuxFrames(stream);
        for await (const out of output) yield out;
      } catch (err) {
        if (signal.aborted) throw cancelled();
        throw dockerError(`read the output of exec in "${name}"`, this.opts.socketPath, err);
      }
      if (signal.aborted) throw cancelled();
      const code = await this.exitCode(exec);
      exited = true;
      yield { kind: "exit", code };
    } finally {
      stop.abort();
      signal.removeEventListener("abort", onAbort);
      stream.destroy();
      // Docker does not end an exec when its client goes away: kill it if we left early.
      if (!exited) await this.killExec(exec);
    }
  }

  async usage(): Promise<ContainerUsage[]> {
    return this.wrap("read container usage", () => this.sampler.sample());
  }

  async archive(name: string): Promise<ArchiveOut> {
    const info = await this.inspectRaw(name, true);
    if (info.State?.Running) {
      throw failedPrecondition(`container "${name}" is running on ${this.ctx.hostName}; stop it before archiving`);
    }
    const config = configFromInspect(name, info);
    const rootfs = (await this.call(name, "export", () => this.container(name).export())) as Readable;
    const { stream, finished } = encodeArchive(config, rootfs);
    const sizeRootFs = (info as { SizeRootFs?: number }).SizeRootFs ?? 0;
    return { format: ARCHIVE_FORMAT, estimatedBytes: sizeRootFs, stream, finished };
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string): Promise<void> {
    assertArchiveFormat(this, format);
    await stageArchive(name, input, stagingDir);
  }

  async commitRestore(name: string, stagingDir: string): Promise<ContainerStatus> {
    let config: MigrationConfig;
    try {
      const raw = JSON.parse(await readFile(join(stagingDir, CONFIG_FILE), "utf8")) as Record<string, unknown>;
      config = migrationConfig(name, { Config: raw.config, HostConfig: raw.hostConfig, spec: raw.spec });
    } catch (err) {
      throw failedPrecondition(`no staged docker archive for "${name}" in ${stagingDir}`, err);
    }
    // Its address and ports as the controller sent them (the archive's are the source host's).
    const attached = this.ctx.network?.attachment(name);
    const nic = attached?.ipv4 ? await this.corralNetwork(attached.ipv4) : undefined;
    const hostIp = this.ctx.network?.hostIp ?? "";
    const bindings = attached ? portBindings(attached.ports, hostIp).bindings : withoutHostIp(config.hostConfig.PortBindings);
    const { NetworkMode, ...net } = networkFields(nic);
    const ref = { repo: migratedImageRepo(this.ctx.hostName, name), tag: randomBytes(6).toString("hex") };
    const imageRef = `${ref.repo}:${ref.tag}`;
    await this.wrap(`import the filesystem of "${name}"`, () =>
      importRootfs(this.docker, createReadStream(join(stagingDir, ROOTFS_FILE)), ref, imageChanges(config.config)),
    );
    try {
      const c = config.config;
      const spec = { ...config.spec, name };
      await this.docker.createContainer({
        name: runtimeName(this.ctx.hostName, name),
        Image: imageRef,
        // The container's own config is the exact truth; the image's copy is for plain `docker run`.
        Env: c.Env,
        ...(c.Cmd ? { Cmd: c.Cmd } : {}),
        ...(c.Entrypoint ? { Entrypoint: c.Entrypoint } : {}),
        WorkingDir: c.WorkingDir,
        User: c.User,
        ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
        Labels: { ...c.Labels, ...corralLabels(this.ctx.hostName, spec) },
        ExposedPorts: c.ExposedPorts,
        Tty: false,
        ...net,
        HostConfig: {
          ...resourceFields(limitsFromHostConfig(config.hostConfig)),
          PortBindings: bindings,
          RestartPolicy: { Name: "no" },
          ...(this.opts.cgroupParent ? { CgroupParent: this.opts.cgroupParent } : {}),
          ...(NetworkMode ? { NetworkMode } : {}),
        },
      });
    } catch (err) {
      await this.docker.getImage(imageRef).remove().catch(() => undefined);
      throw this.createError(name, imageRef, err);
    }
    return this.inspect(name);
  }

  /**
   * The Docker network on this host's Corral bridge (Docker uses a bridge of that name when it
   * exists), made on first use; the nic for `ipv4` on it.
   */
  private async corralNetwork(ipv4: string): Promise<Nic> {
    const nic = requireNetwork(this.ctx).nic(ipv4);
    const subnet = networkOf(requireNetwork(this.ctx).configured!.bridgeAddress);
    const existing = await this.docker
      .getNetwork(CORRAL_NETWORK)
      .inspect()
      .catch(() => undefined) as { IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } } | undefined;
    const cfg = existing?.IPAM?.Config?.[0];
    if (existing && (cfg?.Subnet !== subnet || cfg?.Gateway !== nic.gateway)) {
      // The bridge's address changed (a new pool): the network follows, if nothing is on it.
      await this.wrap("replace the corral network", () => this.docker.getNetwork(CORRAL_NETWORK).remove());
    }
    if (!existing || cfg?.Subnet !== subnet || cfg?.Gateway !== nic.gateway) {
      await this.wrap("create the corral network", () =>
        this.docker.createNetwork({
          Name: CORRAL_NETWORK,
          Driver: "bridge",
          IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: nic.gateway }] },
          Options: { "com.docker.network.bridge.name": nic.bridge, "com.docker.network.driver.mtu": String(nic.mtu) },
          Labels: { "corral.network": "1" },
        }),
      );
    }
    return nic;
  }

  stagingRoot(): string {
    const dir = join(this.ctx.stateDir, "docker", "staging");
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    const current = await this.inspectRaw(name);
    // Docker's update treats 0 as "unchanged" and cannot lift a limit once set.
    if (limits.memoryBytes === 0 && (current.HostConfig?.Memory ?? 0) > 0) {
      throw invalidArgument(`docker cannot remove the memory limit of "${name}"; set a new value instead`);
    }
    if (limits.cpus === 0 && (current.HostConfig?.NanoCpus ?? 0) > 0) {
      throw invalidArgument(`docker cannot remove the cpu limit of "${name}"; set a new value instead`);
    }
    const hc = current.HostConfig ?? {};
    // A lifted limit is written as Docker's own "none" (update leaves an absent field as it is): no pids cap (-1), the normal share.
    const body: ResourceFields = {
      ...resourceFields(limits),
      ...(!limits.pidsMax && (hc.PidsLimit ?? 0) > 0 ? { PidsLimit: -1 } : {}),
      ...(!limits.cpuShares && (hc.CpuShares ?? 0) > 0 ? { CpuShares: 1024 } : {}),
    };
    if (Object.keys(body).length) {
      await this.call(name, "update", () => this.container(name).update(body), [], {
        400: (err) => invalidArgument(`docker rejected limits for "${name}": ${daemonMessage(err)}`),
      });
    }
    return this.inspect(name);
  }

  async importImage(name: string, tarball: Readable): Promise<ImageInfo> {
    const { stream } = await sniffTarball(tarball);
    const id = await this.wrap(`import image "${name}"`, () =>
      importRootfs(this.docker, stream, splitImageRef(name), DEFAULT_IMPORT_CHANGES),
    );
    const image = await this.wrap(`inspect image "${name}"`, () => this.docker.getImage(id).inspect());
    return { name, backend: "docker", host: this.ctx.hostName, sizeBytes: image.Size, id };
  }

  /**
   * dockerd keeps the last run's end (time, error) until the next one ends, but sets the exit code
   * to 0 when the next run starts: while one runs (restarted by the reconciler, say), the code it
   * shows is no run's, and "exited with code 0" at the last run's time would be made up.
   */
  async lastExit(name: string): Promise<ExitInfo | undefined> {
    const { State: s } = await this.inspectRaw(name);
    if (!s.FinishedAt || s.FinishedAt.startsWith("0001-") || s.Running || s.Restarting) return undefined;
    const reason = s.Error ? s.Error : s.OOMKilled ? `killed for lack of memory (exit code ${s.ExitCode})` : `exited with code ${s.ExitCode}`;
    let logTail = "";
    for await (const chunk of this.logs(name, { tail: EXIT_LOG_LINES, follow: false }, new AbortController().signal)) logTail += chunk.toString("utf8");
    return { exitCode: s.ExitCode, atUnixMs: Date.parse(s.FinishedAt) || 0, reason, logTail };
  }

  // ---- files and logs ----

  /** Staged on this host (checked, renamed to where it lands), then handed to dockerd's archive API. */
  async copyIn(name: string, target: CopyTarget, tar: Readable): Promise<void> {
    await this.inspectRaw(name);
    const { dir, name: final } = await landing(target, (p) => this.pathKind(name, p));
    const root = join(this.ctx.stateDir, "docker", "cp");
    await mkdir(root, { recursive: true });
    const staging = await mkdtemp(join(root, "in-"));
    try {
      const staged = await stageCopy(tar, target.sourceName, staging);
      if (final !== target.sourceName) await rename(staged, join(staging, final));
      const out = createTarStream(staging, [final]);
      // copyUIDGID: keep the archive's owners (dockerd's default makes everything root's).
      const opts = { path: dir, copyUIDGID: "1" } as unknown as Parameters<Docker.Container["putArchive"]>[1];
      await Promise.all([this.call(name, "copy into", () => this.container(name).putArchive(out.stream, opts)), out.finished]);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async copyOut(name: string, path: string): Promise<TarOut> {
    await this.inspectRaw(name);
    if (posix.normalize(path) === "/") throw invalidArgument("copy a path below / (the root directory is the whole container)");
    if ((await this.pathKind(name, path)) === "missing") throw notFound(`no such file or directory in the container: ${path}`);
    const stream = (await this.call(name, "copy from", () => this.container(name).getArchive({ path }))) as Readable;
    const finished = new Promise<void>((resolve, reject) => {
      stream.once("end", resolve);
      stream.once("error", reject);
    });
    return { stream, finished };
  }

  /** HEAD /containers/{id}/archive: dockerd resolves the path inside the container's root. */
  private async pathKind(name: string, path: string): Promise<"dir" | "other" | "missing"> {
    try {
      const res = (await this.container(name).infoArchive({ path })) as { headers?: Record<string, string | undefined>; resume?: () => void };
      res.resume?.();
      const raw = res.headers?.["x-docker-container-path-stat"];
      if (!raw) return "other";
      const mode = Number((JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as { mode?: number }).mode ?? 0);
      // Go's os.ModeDir is the top bit of a uint32.
      return Math.floor(mode / 2 ** 31) % 2 === 1 ? "dir" : "other";
    } catch (err) {
      // A HEAD answer has no body: dockerd's 500 for a path below a file ("not a directory") says
      // only "server error". Nothing is there; the caller's check of the parent names the cause.
      if (statusOf(err) === 404 || statusOf(err) === 500) return "missing";
      throw dockerError(`stat ${path} in container "${name}"`, this.opts.socketPath, err);
    }
  }

  async *logs(name: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer> {
    await this.inspectRaw(name);
    const tail = opts.tail < 0 ? "all" : opts.tail;
    const base = { stdout: true, stderr: true, tail } as unknown as Docker.ContainerLogsOptions;
    if (!opts.follow) {
      const buf = (await this.call(name, "read logs", () => this.container(name).logs({ ...base, follow: false }))) as unknown as Buffer;
      for await (const out of demuxFrames(Readable.from([buf]))) if (out.kind !== "exit") yield out.data;
      return;
    }
    const stream = (await this.call(name, "follow logs", () =>
      this.container(name).logs({ ...base, follow: true } as Docker.ContainerLogsOptions & { follow: true }),
    )) as unknown as Readable;
    const onAbort = (): void => {
      stream.destroy();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const out of demuxFrames(stream)) if (out.kind !== "exit") yield out.data;
    } catch (err) {
      if (!signal.aborted) throw dockerError(`follow the logs of "${name}"`, this.opts.socketPath, err);
    } finally {
      signal.removeEventListener("abort", onAbort);
      stream.destroy();
    }
  }

  async listImages(): Promise<ImageInfo[]> {
    const images = await this.wrap("list images", () => this.docker.listImages());
    return images.flatMap((i) =>
      (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").map((t) => ({ name: t.replace(/:latest$/, ""), backend: "docker" as const, host: this.ctx.hostName, sizeBytes: i.Size, id: i.Id })),
    );
  }

  async removeImage(name: string): Promise<void> {
    await this.wrap(`remove image "${name}"`, () => this.docker.getImage(name).remove());
  }

  // ---- helpers ----

  private container(name: string): Docker.Container {
    return this.docker.getContainer(runtimeName(this.ctx.hostName, name));
  }

  private async inspectRaw(name: string, size = false): Promise<Docker.ContainerInspectInfo> {
    // `size` is a query option dockerode passes through but its types do not list.
    const opts = (size ? { size: true } : {}) as Docker.ContainerInspectOptions;
    return this.call(name, "inspect", () => this.container(name).inspect(opts));
  }

  /** Runs a container call: 404 is "not found", codes in `ok` are success, `special` maps the rest. */
  private async call<T>(
    name: string,
    action: string,
    fn: () => Promise<T>,
    ok: number[] = [],
    special: Record<number, (err: unknown) => CorralError> = {},
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = statusOf(err);
      if (code !== undefined && ok.includes(code)) return undefined as T;
      if (code !== undefined && special[code]) throw special[code](err);
      if (code === 404) throw notFound(`container "${name}" not found on ${this.ctx.hostName}`, err);
      throw dockerError(`${action} container "${name}"`, this.opts.socketPath, err);
    }
  }

  private async wrap<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw dockerError(action, this.opts.socketPath, err);
    }
  }

  private createError(name: string, image: string, err: unknown): CorralError {
    switch (statusOf(err)) {
      case 404:
        return notFound(`image "${image}" not found on ${this.ctx.hostName}; import it with corral image import`, err);
      case 409:
        return alreadyExists(`container "${name}" already exists on ${this.ctx.hostName}`, err);
      case 400:
        return invalidArgument(`docker rejected the spec of "${name}": ${daemonMessage(err)}`, err);
      default:
        return dockerError(`create container "${name}"`, this.opts.socketPath, err);
    }
  }

  /** The exec's exit code; the stream can close a moment before dockerd records it. */
  private async exitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new CorralError("internal", "dockerd did not report the exit code of an exec within 2 s");
  }

  private async killExec(exec: Docker.Exec): Promise<void> {
    try {
      // dockerd can report a running exec with Pid 0 for a moment after its first output: wait for it.
      let info = await exec.inspect();
      for (let i = 0; i < 100 && info.Running && !(info.Pid > 0); i++) {
        await new Promise((r) => setTimeout(r, 20));
        info = await exec.inspect();
      }
      // The exec's process may have forked (sh -c "a; b"): kill what it started too.
      if (info.Running && info.Pid > 0) await killTree(info.Pid);
    } catch {
      // Already gone, or not in our pid namespace: nothing more we can do.
    }
  }
}

/** Another host's port bindings without its address: published on every address here instead. */
function withoutHostIp(b: PortBindings | undefined): PortBindings {
  const out: PortBindings = {};
  for (const [k, v] of Object.entries(b ?? {})) out[k] = v.map((x) => ({ HostPort: x.HostPort ?? "" }));
  return out;
}
