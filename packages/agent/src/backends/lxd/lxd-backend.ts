// LXD system containers through the REST API on LXD's unix socket. Several emulated hosts may share
// one daemon: instances are named `<host>-<name>` and tagged with user.corral.host.
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { isCode, messageOf, alreadyExists, CorralError, failedPrecondition, invalidArgument, notFound, type ContainerSpec, type ContainerStatus, type ContainerUsage, type ExecOutput, type ImageInfo, type Limits, type LogsOptions, type RestoreGrants } from "@corral/wire";
import { landing, stageCopy, type CopyTarget } from "../../files/container-copy.js";
import { fileLogs } from "../../files/file-logs.js";
import { createTarStream, type TarOut } from "../../archive/tar-stream.js";
import { LxdFiles } from "./files.js";
import { assertArchiveFormat, requireNetwork, type ArchiveOut, type Backend, type BackendContext, type ConvertingRestore, type ExecIo, type ImageImport, type LiveLimits, type ProbeResult } from "../backend.js";
import { DEFAULT_PROJECT, LxdClient, httpStatusOf, lxdMessageOf } from "./client.js";
import {
  KEY_HOST,
  KEY_NAME,
  type LxdInstance,
  limitsToConfig,
  nicDevices,
  rootDiskDevice,
  hasNestingRawLxc,
  utsOfRawLxc,
  rawLxc,
  runtimeName,
  specToConfig,
  toStatus,
} from "./config.js";
import { execWebsocket } from "./exec.js";
import { metadataTar, splitImageBody } from "./image.js";
import { UsageSampler } from "./usage.js";
import { ARCHIVE_FORMAT, type BackupCompression, exportBackup, importBackup, stageBackup } from "./archive.js";
import { CONVERTED_ROOTFS, readConverted, stageLxcForLxd, stageOpenvzForLxd, type Converted } from "./convert-in.js";
import { OPENVZ_ARCHIVE_FORMAT } from "../openvz/staged-ct.js";
import { ARCHIVE_FORMAT as LXC_ARCHIVE_FORMAT } from "../lxc/archive.js";

export interface LxdBackendOptions {
  /** LXD's unix socket; Debian's package puts it at /var/lib/lxd/unix.socket. */
  socketPath?: string;
  /** The LXD project every call is made in (LXD's `?project=`); default LXD's "default". */
  project?: string;
  /** Storage pool for restored instances. */
  pool?: string;
  /** Compression of LXD's backup tarball. zstd by default: measured faster end to end here and 3x fewer bytes to move. */
  backupCompression?: BackupCompression;
  /** The bridge instance NICs hang on; default the host network's Corral bridge. */
  bridge?: string;
}

export class LxdBackend implements Backend, LiveLimits, ImageImport, ConvertingRestore {
  readonly name = "lxd" as const;
  readonly archiveFormat = ARCHIVE_FORMAT;
  /** OpenVZ and LXC containers convert on the way in (convert-in.ts), as lxc-to-lxd does. */
  readonly convertsFrom = [OPENVZ_ARCHIVE_FORMAT, LXC_ARCHIVE_FORMAT];
  readonly client: LxdClient;
  private readonly pool: string;
  private readonly compression: BackupCompression;
  private readonly sampler = new UsageSampler();
  /** The NICs' parent; undefined: the host network's bridge. */
  private readonly bridge: string | undefined;

  constructor(
    private readonly ctx: BackendContext,
    opts: LxdBackendOptions = {},
  ) {
    this.client = new LxdClient(opts.socketPath, opts.project);
    this.pool = opts.pool ?? "default";
    this.compression = opts.backupCompression ?? "zstd";
    this.bridge = opts.bridge;
  }

  async probe(): Promise<ProbeResult> {
    const sock = this.client.socketPath;
    if (!existsSync(sock)) return { available: false, reason: `LXD socket ${sock} not found` };
    try {
      const server = await this.client.call<{ auth: string }>("GET", "/1.0");
      if (server.auth !== "trusted") return { available: false, reason: `LXD on ${sock} does not trust this agent` };
      if (this.client.project !== DEFAULT_PROJECT) {
        const projects = await this.client.call<string[]>("GET", "/1.0/projects");
        if (!projects.some((p) => p.split("/").pop() === this.client.project)) {
          return { available: false, reason: `LXD has no project "${this.client.project}": create it with lxc project create ${this.client.project}` };
        }
      }
      const pools = await this.client.call<string[]>("GET", "/1.0/storage-pools");
      if (pools.length === 0) return { available: false, reason: "LXD has no storage pool: run lxd init" };
      if (!pools.some((p) => p.endsWith(`/${this.pool}`))) {
        return { available: false, reason: `LXD has no storage pool "${this.pool}" (pools: ${pools.map((p) => p.split("/").pop()).join(", ")})` };
      }
    } catch (err) {
      return { available: false, reason: messageOf(err) };
    }
    await mkdir(this.stagingRoot(), { recursive: true });
    return { available: true, reason: "" };
  }

  async create(spec: ContainerSpec): Promise<ContainerStatus> {
    const image = spec.image || spec.template;
    if (!image) throw invalidArgument("lxd containers need --image: the name of an imported image");
    if (spec.cmd.length > 0) throw invalidArgument("lxd containers run their image's init: --cmd is not supported");
    const rt = runtimeName(this.ctx.hostName, spec.name);
    if (await this.find(rt)) throw this.exists(spec.name);
    const alias = await this.resolveImage(image);
    // Ports are DNAT rules on the host's address (network/host-network.ts): an LXD proxy device
    // listens in LXD's network namespace, which is not the host's when hosts are emulated.
    if (spec.ports.length > 0 && !spec.ipv4) throw failedPrecondition(`publishing ports of "${spec.name}" needs the cluster network`);
    const nic = spec.ipv4 ? requireNetwork(this.ctx).nic(spec.ipv4) : undefined;
    const disk = await this.rootDiskDevices(spec.limits);
    try {
      await this.client.call("POST", "/1.0/instances", {
        body: {
          name: rt,
          type: "container",
          source: { type: "image", alias },
          profiles: ["default"],
          config: specToConfig(this.ctx.hostName, spec, nic),
          devices: { ...(nic ? nicDevices(nic, this.bridge ?? nic.bridge) : {}), ...disk },
        },
      });
    } catch (err) {
      if (isCode(err, "already_exists")) throw this.exists(spec.name, err);
      // LXD may have recorded the instance before the operation failed: leave nothing behind.
      if (await this.find(rt).catch(() => undefined)) await this.remove(spec.name).catch(() => undefined);
      throw new CorralError(err instanceof CorralError ? err.code : "internal", `cannot create container "${spec.name}" on ${this.ctx.hostName}: ${lxdMessageOf(err)}`, { cause: err });
    }
    return this.quickStatus(spec.name); // a new container is stopped: no pid to fetch
  }

  async start(name: string): Promise<ContainerStatus> {
    const st = await this.quickStatus(name);
    if (st.state === "running") return st;
    await this.state(name, { action: "start" });
    // initPid stays 0 here (LXD's state costs ~100 ms); inspect() reports it.
    return this.quickStatus(name);
  }

  async stop(name: string, timeoutSeconds: number): Promise<ContainerStatus> {
    const st = await this.quickStatus(name);
    if (st.state === "stopped") return st;
    let clean = false;
    if (timeoutSeconds > 0) {
      // LXD fails the operation when the clean shutdown outlasts its timeout; then we force it.
      clean = await this.state(name, { action: "stop", timeout: Math.ceil(timeoutSeconds), force: false }).then(
        () => true,
        () => false,
      );
    }
    if (!clean) {
      const now = await this.quickStatus(name);
      // The clean stop may end between that look and the forced one ("The instance is already
      // stopped"): a stop that finds the instance stopped has done its job.
      if (now.state !== "stopped") {
        await this.state(name, { action: "stop", force: true }).catch(async (err: unknown) => {
          if ((await this.quickStatus(name)).state !== "stopped") throw err;
        });
      }
    }
    return this.quickStatus(name);
  }

  async remove(name: string): Promise<void> {
    const st = await this.quickStatus(name);
    if (st.state !== "stopped") await this.whenIdle(() => this.state(name, { action: "stop", force: true }));
    // After a failed start LXD runs a "stop" operation of its own for a moment; DELETE waits for it,
    // so that a create whose start failed can be undone and leaves no instance behind.
    await this.whenIdle(() => this.instanceCall(name, "DELETE", ""));
    await rm(this.consoleFile(name), { force: true });
  }

  /** What logs() has drained from the container's console (see there). */
  private consoleFile(name: string): string {
    return join(this.ctx.stateDir, "lxd", "console", `${name}.log`);
  }

  /** Retries `fn` while LXD answers that the instance is busy with another operation (up to 15 s). */
  private async whenIdle<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i >= 75 || !/is busy running/i.test(messageOf(err))) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async inspect(name: string): Promise<ContainerStatus> {
    const inst = await this.find(runtimeName(this.ctx.hostName, name), true);
    if (!inst) throw this.missing(name);
    return toStatus(name, inst);
  }

  /** State and limits without the init pid: for decisions, not for reports. */
  private async quickStatus(name: string): Promise<ContainerStatus> {
    const inst = await this.find(runtimeName(this.ctx.hostName, name));
    if (!inst) throw this.missing(name);
    return toStatus(name, inst);
  }

  async list(): Promise<ContainerStatus[]> {
    return (await this.owned()).map(({ name, inst }) => toStatus(name, inst));
  }

  async *exec(name: string, argv: string[], env: string[], signal: AbortSignal, io?: ExecIo): AsyncIterable<ExecOutput> {
    const st = await this.inspect(name);
    if (st.state !== "running") throw failedPrecondition(`container "${name}" is not running on ${this.ctx.hostName}`);
    yield* execWebsocket(this.client, runtimeName(this.ctx.hostName, name), argv, env, signal, io);
  }

  async usage(): Promise<ContainerUsage[]> {
    return this.sampler.sample(await this.owned());
  }

  async setLimits(name: string, limits: Limits): Promise<ContainerStatus> {
    const inst = await this.find(runtimeName(this.ctx.hostName, name));
    if (!inst) throw this.missing(name);
    const devices = await this.rootDiskDevices(limits, inst);
    // PATCH merges config (and devices, by name) and applies it live; empty values unset "no limit" keys.
    await this.instanceCall(name, "PATCH", "", { config: limitsToConfig(limits), ...(devices ? { devices } : {}) });
    return this.inspect(name);
  }

  /**
   * The root disk device for --disk: the instance's own copy of its root disk with `size`, on pools
   * whose driver enforces a quota; a lifted quota keeps the device without `size`. Undefined: no change.
   */
  private async rootDiskDevices(limits: Limits, inst?: LxdInstance): Promise<Record<string, Record<string, string>> | undefined> {
    const local = inst?.devices.root;
    if (!limits.diskBytes) return local?.size ? { root: rootDiskDevice(local.pool ?? "default", 0) } : undefined;
    const root = inst?.expanded_devices?.root ?? (await this.client.call<{ devices: Record<string, Record<string, string>> }>("GET", "/1.0/profiles/default")).devices.root;
    const pool = root?.pool;
    if (!pool) throw failedPrecondition(`LXD on ${this.ctx.hostName} has no root disk in its default profile to put a quota on`);
    const { driver } = await this.client.call<{ driver: string }>("GET", `/1.0/storage-pools/${encodeURIComponent(pool)}`);
    // LXD's dir driver has no quota of its own (project quotas only where the host filesystem has them).
    if (driver === "dir") throw invalidArgument(`LXD's storage pool "${pool}" on ${this.ctx.hostName} uses the dir driver, which has no disk quota: leave out --disk`);
    return { root: rootDiskDevice(pool, limits.diskBytes) };
  }

  async importImage(name: string, tarball: Readable): Promise<ImageInfo> {
    const server = await this.client.call<{ environment: { architectures: string[] } }>("GET", "/1.0");
    const arch = server.environment.architectures[0] ?? "x86_64";
    const alias = this.imageAlias(name);
    const upload = splitImageBody(metadataTar(arch, `corral image ${name}`), tarball);
    let fingerprint: string;
    try {
      const done = await this.client.call<{ fingerprint?: string }>("POST", "/1.0/images", {
        stream: upload.body,
        headers: { "Content-Type": upload.contentType },
      });
      fingerprint = done.fingerprint ?? (await upload.fingerprint);
    } catch (err) {
      upload.body.destroy();
      tarball.destroy();
      // The same rootfs imported again: LXD keeps one image per fingerprint, and we only move the alias.
      if (!/already exists/i.test(lxdMessageOf(err))) {
        throw new CorralError(err instanceof CorralError ? err.code : "internal", `cannot import LXD image "${name}" on ${this.ctx.hostName}: ${lxdMessageOf(err)}`, { cause: err });
      }
      fingerprint = await upload.fingerprint;
    }
    const previous = await this.client.call<{ target: string }>("GET", `/1.0/images/aliases/${alias}`).then((a) => a.target, () => undefined);
    if (previous !== undefined) {
      await this.client.call("PUT", `/1.0/images/aliases/${alias}`, { body: { target: fingerprint, description: "" } });
      // A new rootfs under an old name: the image it replaces goes, unless another alias names it
      // (each import used to leave one behind, unnamed, in LXD's store for good).
      if (previous !== fingerprint) await this.dropUnnamed(previous);
    } else await this.client.call("POST", "/1.0/images/aliases", { body: { name: alias, target: fingerprint } });
    const img = await this.client.call<{ size: number }>("GET", `/1.0/images/${fingerprint}`);
    return { name, backend: "lxd", host: this.ctx.hostName, sizeBytes: img.size, id: fingerprint };
  }

  async archive(name: string): Promise<ArchiveOut> {
    const st = await this.inspect(name);
    if (st.state !== "stopped") throw failedPrecondition(`container "${name}" must be stopped before archiving`);
    return exportBackup(this.client, runtimeName(this.ctx.hostName, name), this.compression);
  }

  async stageRestore(name: string, format: string, input: Readable, stagingDir: string, grants?: RestoreGrants): Promise<void> {
    assertArchiveFormat(this, format);
    runtimeName(this.ctx.hostName, name);
    if (format === OPENVZ_ARCHIVE_FORMAT) await stageOpenvzForLxd(name, input, stagingDir);
    else if (format === LXC_ARCHIVE_FORMAT) await stageLxcForLxd(name, input, stagingDir, grants);
    else await stageBackup(input, stagingDir, grants);
  }

  async commitRestore(name: string, stagingDir: string, grants?: RestoreGrants): Promise<ContainerStatus> {
    const rt = runtimeName(this.ctx.hostName, name);
    if (await this.find(rt)) throw this.exists(name);
    const converted = await readConverted(stagingDir);
    if (converted) return this.commitConverted(name, stagingDir, converted, grants);
    try {
      await importBackup(this.client, stagingDir, rt, this.pool);
    } catch (err) {
      throw new CorralError(err instanceof CorralError ? err.code : "internal", `cannot restore container "${name}" on ${this.ctx.hostName}: ${lxdMessageOf(err)}`, { cause: err });
    }
    const config: Record<string, string> = { [KEY_HOST]: this.ctx.hostName, [KEY_NAME]: name };
    // This host's bridge and gateway, for the address the controller sent with the receive.
    const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
    const nic = ipv4 ? requireNetwork(this.ctx).nic(ipv4) : undefined;
    const inst = await this.find(rt);
    // This host's address lines, beside the nesting line the instance came with (one key holds both).
    if (nic) config["raw.lxc"] = rawLxc(hasNestingRawLxc(inst?.config["raw.lxc"]), nic, utsOfRawLxc(inst?.config["raw.lxc"])) ?? "";
    // Source and target may be one daemon (emulated hosts): two instances must not share a UUID.
    const uuid = inst?.config["volatile.uuid"];
    if (uuid) {
      const all = await this.client.call<LxdInstance[]>("GET", "/1.0/instances?recursion=1");
      if (all.some((o) => o.name !== rt && o.config["volatile.uuid"] === uuid)) config["volatile.uuid"] = randomUUID();
    }
    await this.instanceCall(name, "PATCH", "", { config, ...(nic ? { devices: nicDevices(nic, this.bridge ?? nic.bridge) } : {}) });
    return this.inspect(name);
  }

  stagingRoot(): string {
    return join(this.ctx.stateDir, "lxd", "staging");
  }

  // ---- files and logs ----

  async copyIn(name: string, target: CopyTarget, tar: Readable): Promise<void> {
    await this.inspect(name);
    const files = new LxdFiles(this.client, runtimeName(this.ctx.hostName, name));
    const { dir, name: final } = await landing(target, (p) => files.kind(p));
    const staging = await this.copyStaging("in-");
    try {
      const staged = await stageCopy(tar, target.sourceName, staging);
      await files.push(staged, `${dir.replace(/\/$/, "")}/${final}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async copyOut(name: string, path: string): Promise<TarOut> {
    await this.inspect(name);
    const files = new LxdFiles(this.client, runtimeName(this.ctx.hostName, name));
    const normal = posixNormal(path);
    const base = normal.slice(normal.lastIndexOf("/") + 1);
    if (!base) throw invalidArgument("copy a path below / (the root directory is the whole container)");
    const staging = await this.copyStaging("out-");
    try {
      await files.pull(normal, join(staging, base));
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    const out = createTarStream(staging, [base]);
    const finished = out.finished.finally(() => rm(staging, { recursive: true, force: true }));
    return { stream: out.stream, finished };
  }

  private async copyStaging(prefix: string): Promise<string> {
    const root = join(this.ctx.stateDir, "lxd", "cp");
    await mkdir(root, { recursive: true });
    return mkdtemp(join(root, prefix));
  }

  /**
   * LXD's console endpoint hands out the ring buffer's new bytes once (LXD 5.0: a second read
   * answers "open : no such file" until the container writes more), so the agent keeps what it
   * drains in a file of its own and serves `ct logs` from there, draining again while it follows.
   */
  async *logs(name: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer> {
    await this.inspect(name);
    const file = this.consoleFile(name);
    await mkdir(dirname(file), { recursive: true });
    const drain = async (): Promise<void> => {
      const fresh = await this.client.downloadText(`/1.0/instances/${runtimeName(this.ctx.hostName, name)}/console`).catch(() => Buffer.alloc(0));
      if (fresh.length) await appendFile(file, fresh);
    };
    await drain();
    if (!opts.follow) return yield* fileLogs(file, opts, signal);
    const timer = setInterval(() => void drain(), 300);
    try {
      yield* fileLogs(file, opts, signal);
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * A container converted from another runtime (convert-in.ts): its rootfs goes to LXD as a one-use
   * image, the instance is made from it as `create` makes any (this host's NIC and address, the
   * limits it had), and the image goes again. LXD maps the owners onto its range at first start.
   */
  private async commitConverted(name: string, stagingDir: string, c: Converted, grants?: RestoreGrants): Promise<ContainerStatus> {
    const image = `corral-convert-${name}`;
    const tar = createTarStream(join(stagingDir, CONVERTED_ROOTFS), ["."]);
    tar.finished.catch(() => undefined);
    await this.importImage(image, tar.stream);
    await tar.finished;
    try {
      const ipv4 = this.ctx.network?.attachment(name)?.ipv4;
      await this.create({
        name,
        backend: "lxd",
        template: "",
        image,
        limits: c.limits,
        env: [],
        cmd: [],
        ports: [],
        labels: {},
        ...(grants?.privileged ? { privileged: true } : {}),
        ...(ipv4 ? { ipv4 } : {}),
      });
      // Its own hostname, as LXD gives one that is not the instance's name (raw.lxc's lxc.uts.name,
      // beside the address lines create wrote), and the swap its source allowed.
      const config: Record<string, string> = {};
      if (c.hostname) config["raw.lxc"] = rawLxc(false, ipv4 ? requireNetwork(this.ctx).nic(ipv4) : undefined, c.hostname) ?? "";
      if (c.swap === "true" || c.swap === "false") config["limits.memory.swap"] = c.swap;
      if (Object.keys(config).length) {
        // The instance exists now: a failure here must not leave it behind (the receive is aborted).
        await this.instanceCall(name, "PATCH", "", { config }).catch(async (err: unknown) => {
          await this.remove(name).catch(() => undefined);
          throw err;
        });
      }
    } finally {
      await this.removeImage(image).catch((err: unknown) => this.ctx.log.warn({ image, err: messageOf(err) }, "cannot remove the one-use image of a conversion"));
    }
    return this.inspect(name);
  }

  /** Closes the keep-alive connections to LXD (tests, agent shutdown). */
  close(): void {
    this.client.close();
  }

  // ---- helpers ----

  /** Images are this host's aliases (LXD is one daemon for every emulated host: never another host's). */
  async listImages(): Promise<ImageInfo[]> {
    const prefix = this.imageAlias("");
    const images = await this.client.call<{ fingerprint: string; size: number; aliases: { name: string }[] }[]>("GET", "/1.0/images?recursion=1");
    return images.flatMap((img) =>
      img.aliases
        .filter((a) => a.name.startsWith(prefix))
        .map((a) => ({ name: a.name.slice(prefix.length), backend: "lxd" as const, host: this.ctx.hostName, sizeBytes: img.size, id: img.fingerprint })),
    );
  }

  /** Removes this host's alias, and the image itself once no alias (of any host) points at it. */
  async removeImage(name: string): Promise<void> {
    const alias = this.imageAlias(name);
    const target = await this.client.call<{ target: string }>("GET", `/1.0/images/aliases/${encodeURIComponent(alias)}`).catch((err: unknown) => {
      throw notFound(`image "${name}" is not on host ${this.ctx.hostName} (lxd)`, err);
    });
    await this.client.call("DELETE", `/1.0/images/aliases/${encodeURIComponent(alias)}`);
    await this.dropUnnamed(target.target);
  }

  /** Deletes an image once no alias (of any host) names it: instances made from it keep their own copy. */
  private async dropUnnamed(fingerprint: string): Promise<void> {
    const img = await this.client.call<{ aliases: unknown[] }>("GET", `/1.0/images/${fingerprint}`);
    if (img.aliases.length === 0) await this.client.call("DELETE", `/1.0/images/${fingerprint}`);
  }

  private imageAlias(name: string): string {
    return `${this.ctx.hostName}-${name}`;
  }

  /** This host's alias first, then a plain alias an operator imported with `lxc image import --alias`. */
  private async resolveImage(image: string): Promise<string> {
    for (const alias of [this.imageAlias(image), image]) {
      try {
        await this.client.call("GET", `/1.0/images/aliases/${encodeURIComponent(alias)}`);
        return alias;
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err;
      }
    }
    throw notFound(
      `LXD image "${image}" not found on ${this.ctx.hostName}: import it first with \`corral image import FILE --name ${image} --backend lxd\``,
    );
  }

  /**
   * The instance, with its runtime state (pid) only when `withState`: LXD answers ?recursion=1 in
   * ~75 ms here against ~5 ms without, which is most of create+start's overhead otherwise.
   */
  private async find(rt: string, withState = false): Promise<LxdInstance | undefined> {
    try {
      return await this.client.call<LxdInstance>("GET", `/1.0/instances/${rt}${withState ? "?recursion=1" : ""}`);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async owned(): Promise<{ name: string; inst: LxdInstance }[]> {
    const all = await this.client.call<LxdInstance[]>("GET", "/1.0/instances?recursion=2");
    const prefix = `${this.ctx.hostName}-`;
    return all
      .filter((i) => i.config[KEY_HOST] === this.ctx.hostName && i.name.startsWith(prefix))
      .map((inst) => ({ name: inst.config[KEY_NAME] ?? inst.name.slice(prefix.length), inst }));
  }

  private async state(name: string, body: Record<string, unknown>): Promise<void> {
    await this.instanceCall(name, "PUT", "/state", body);
  }

  /** A call on one instance whose 404 becomes `container "x" not found on host`. */
  private async instanceCall(name: string, method: string, sub: string, body?: unknown): Promise<unknown> {
    const rt = runtimeName(this.ctx.hostName, name);
    try {
      return await this.client.call(method, `/1.0/instances/${rt}${sub}`, body === undefined ? {} : { body });
    } catch (err) {
      if (httpStatusOf(err) === 404) throw this.missing(name, err);
      throw new CorralError(err instanceof CorralError ? err.code : "internal", `LXD ${method} on container "${name}" (${this.ctx.hostName}) failed: ${lxdMessageOf(err)}`, { cause: err });
    }
  }

  private missing(name: string, cause?: unknown): CorralError {
    return notFound(`container "${name}" not found on ${this.ctx.hostName}`, cause);
  }

  private exists(name: string, cause?: unknown): CorralError {
    return alreadyExists(`container "${name}" already exists on ${this.ctx.hostName}`, cause);
  }
}

const posixNormal = (p: string): string => posix.normalize(p).replace(/(.)\/$/, "$1");
