// The hostile-archive corpus: a compromised source host sends crafted archives to a real agent
// (gRPC on loopback, real LXC, dockerd, LXD and the OpenVZ stand-in) through the real receiving
// path: PrepareReceive, ReceiveArchive, the backend's stageRestore. Every case must be refused
// with its own clear error, and afterwards nothing outside staging may have changed: a sentinel
// tree (the target of every escape attempt) and the agent's own directories are compared by
// content hash, staging must be empty, and no container may exist.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  AgentClient,
  CONTROLLER_IDENTITY,
  createCertificateAuthority,
  issueCredentials,
  writeHostCredentials,
  type ArchiveChunk,
  type BackendName,
  type CertificateAuthority,
  type Compression,
  type ContainerRef,
  type TlsCredentials,
} from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";
import { ReceiveManager } from "./receiver.js";
import { paxRecords, tarBlocks, ustar, type TarEntry } from "../archive/test-ustar.js";
import { STANDIN_VZCTL, STANDIN_VZLIST, standinSkipReason, standinVzConf } from "../test-support/openvz-standin.js";

const log = pino({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "corral-hostile-"));
const sentinel = mkdtempSync(join(tmpdir(), "corral-sentinel-"));
const PWNED = `/tmp/corral-pwned-${process.pid}`;
const TARGET = `hostile${process.pid % 10000}`;
const SOURCE = "evilsource";
const NAME = "victim";
const CTID = 4711;
let agent: RunningAgent;
/** The target agent driven as the controller would (prepare, commit, abort). */
let client: AgentClient;
/** The compromised source host: a valid host certificate of its own, streaming the archives. */
let fromSource: AgentClient;
let ca: CertificateAuthority;
let controllerTls: TlsCredentials;
let sourceTls: TlsCredentials;

const token = () => randomBytes(32).toString("hex");
const prepared = (t: string, ref: ContainerRef, compression: Compression = "none", expectedBytes = 0) => ({
  token: t,
  ref,
  compression,
  expectedBytes,
  migrationId: `m-${randomBytes(6).toString("hex")}`,
  sourceHost: SOURCE,
  targetHost: TARGET,
  // The benign LXC config has no id map: it stands for a container created --privileged.
  grants: { privileged: ref.backend === "lxc", nesting: false },
});

// ---- what must not change ----

function tree(dir: string, skip: (p: string) => boolean, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (skip(p)) continue;
    const st = lstatSync(p);
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : "";
    out.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) tree(p, skip, out);
  }
  return out;
}
const isStaging = (p: string) => /staging|\/receives$/.test(p);
const snapshot = () => [...tree(sentinel, () => false), ...tree(root, isStaging)].join("\n");

function stagingEntries(): string[] {
  return agent.registry.available().flatMap((b) => readdirSync(b.stagingRoot()).map((e) => `${b.name}: ${e}`));
}

// ---- archives per backend ----

const LXC_CONFIG = [
  "lxc.net.0.type = empty",
  "lxc.apparmor.profile = unconfined",
  `lxc.rootfs.path = dir:/var/lib/lxc/${NAME}/rootfs`,
  `lxc.uts.name = ${NAME}`,
  "lxc.mount.entry = /lib lib none ro,bind 0 0",
  "lxc.cgroup.memory.limit_in_bytes = 67108864",
  "",
].join("\n");
const OVZ_CONFIG = 'PHYSPAGES="0:65536"\nVE_PRIVATE="/vz/private/$VEID"\nVE_ROOT="/vz/root/$VEID"\nNAME="victim"\n';
const LXD_INSTANCE = (extra: { config?: string; devices?: string; profiles?: string } = {}) => `
    config:
      user.corral.host: ${SOURCE}
      limits.memory: "67108864"${extra.config ?? ""}
    devices: {${extra.devices ?? ""}}
    profiles: ${extra.profiles ?? "[default]"}
    expanded_config: {}
    expanded_devices:
      root: {path: /, pool: default, type: disk}
`;
const lxdIndex = (inst: string) => `name: ${NAME}\nbackend: dir\npool: default\ntype: container\nconfig:\n  container:${inst}`;
const lxdBackup = (inst: string) => `container:${inst}`;
const DOCKER_CONFIG = {
  format: "docker-export+config/1",
  spec: { name: NAME, backend: "docker", template: "", image: "app:1", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {} },
  config: { Env: ["A=1"], Cmd: ["sh"], Entrypoint: null, WorkingDir: "/", User: "", Labels: {}, ExposedPorts: {}, StopSignal: "" },
  hostConfig: { PortBindings: {}, Memory: 0, NanoCpus: 0 },
};

function dockerArchive(config: unknown, tar: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(config));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([Buffer.from("CORRAL-DOCKER-EXPORT/1\n"), len, json, tar]);
}

interface Shape {
  backend: BackendName;
  /** Where a rootfs lives inside this backend's archive. */
  prefix: string;
  /** The benign members every archive of this backend starts with. */
  base: () => TarEntry[];
  wrap: (tar: Buffer) => Buffer;
}

const SHAPES: Shape[] = [
  {
    backend: "lxc",
    prefix: `${NAME}/rootfs/`,
    base: () => [
      { name: `${NAME}/`, type: "5", mode: 0o755 },
      { name: `${NAME}/config`, data: LXC_CONFIG },
      { name: `${NAME}/rootfs/`, type: "5", mode: 0o755 },
    ],
    wrap: (t) => t,
  },
  {
    backend: "openvz",
    prefix: `var/lib/vz/private/${CTID}/`,
    base: () => [
      { name: "etc/vz/conf/", type: "5", mode: 0o755 },
      { name: `etc/vz/conf/${CTID}.conf`, data: OVZ_CONFIG },
      { name: `var/lib/vz/private/${CTID}/`, type: "5", mode: 0o755 },
    ],
    wrap: (t) => t,
  },
  {
    backend: "docker",
    prefix: "",
    base: () => [{ name: "etc/", type: "5", mode: 0o755 }],
    wrap: (t) => dockerArchive(DOCKER_CONFIG, t),
  },
  {
    backend: "lxd",
    prefix: "backup/container/rootfs/",
    base: () => [
      { name: "backup/index.yaml", data: lxdIndex(LXD_INSTANCE()) },
      { name: "backup/container/backup.yaml", data: lxdBackup(LXD_INSTANCE()) },
      { name: "backup/container/rootfs/", type: "5", mode: 0o755 },
    ],
    wrap: (t) => t,
  },
];

// ---- the real receiving path ----

async function receive(backend: BackendName, bytes: Buffer, opts: { compression?: Compression; claim?: Compression; expectedBytes?: number; announce?: number } = {}): Promise<string> {
  const t = token();
  const ref = { name: NAME, backend };
  await client.prepareReceive(prepared(t, ref, opts.compression ?? "none", opts.expectedBytes ?? 0));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  async function* chunks(): AsyncGenerator<ArchiveChunk> {
    const archiveFormat = agent.registry.get(backend).archiveFormat;
    yield { kind: "header", header: { token: t, ref, compression: opts.claim ?? opts.compression ?? "none", totalBytes: opts.announce ?? bytes.length, sourceHost: SOURCE, archiveFormat } };
    for (let i = 0; i < bytes.length; i += 64 * 1024) yield { kind: "data", data: bytes.subarray(i, i + 64 * 1024) };
    yield { kind: "trailer", trailer: { sha256, bytes: bytes.length } };
  }
  await fromSource.receiveArchive(chunks());
  return t;
}

/** Sends, expects refusal with `message`, then checks that nothing outside staging changed. */
async function refused(backend: BackendName, bytes: Buffer, message: RegExp, opts: Parameters<typeof receive>[2] = {}): Promise<void> {
  const before = snapshot();
  const started = Date.now();
  await assert.rejects(receive(backend, bytes, opts), (err: Error) => {
    assert.match(err.message, message);
    return true;
  });
  assert.ok(Date.now() - started < 20_000, "refused in bounded time");
  assert.deepEqual(stagingEntries(), [], "staging is empty");
  assert.equal(snapshot(), before, "nothing outside staging changed");
  assert.equal(existsSync(PWNED), false);
  await assert.rejects(client.inspect({ name: NAME, backend }), /not found/);
}

// ---- the generic tar cases: each is the tail of an archive, after the backend's benign members ----

const Z = Buffer.alloc(512);
const GENERIC: [string, (p: string) => Buffer, RegExp][] = [
  ["an absolute path", () => ustar([{ name: `${PWNED}`, data: "x" }]), /absolute path/],
  ["a .. path", (p) => ustar([{ name: `${p}../../../../../../../../..${PWNED}`, data: "x" }]), /contains "\.\."/],
  ["a write through a symlink to a host directory", (p) => ustar([{ name: `${p}esc`, type: "2", link: sentinel }, { name: `${p}esc/victim`, data: "pwned" }]), /goes through symlink/],
  ["a symlink re-declared as a directory", (p) => ustar([{ name: `${p}esc`, type: "2", link: sentinel }, { name: `${p}esc`, type: "5" }, { name: `${p}esc/victim`, data: "pwned" }]), /appears twice/],
  ["a file re-declared as a symlink", (p) => ustar([{ name: `${p}f`, data: "x" }, { name: `${p}f`, type: "2", link: `${sentinel}/victim` }]), /appears twice/],
  ["a hard link out of the tree", (p) => ustar([{ name: `${p}hl`, type: "1", link: "../../../../../../etc/passwd" }]), /hard link target .*contains "\.\."/],
  ["a hard link to an absolute path", (p) => ustar([{ name: `${p}hl`, type: "1", link: "/etc/passwd" }]), /hard link target .*absolute path/],
  ["a hard link to a symlink", (p) => ustar([{ name: `${p}s`, type: "2", link: `${sentinel}/victim` }, { name: `${p}hl`, type: "1", link: `${p}s` }]), /points to a symlink/],
  ["a hard link to a directory", (p) => ustar([{ name: `${p}d/`, type: "5" }, { name: `${p}hl`, type: "1", link: `${p}d` }]), /points to a dir/],
  ["a hard link to a member not yet seen", (p) => ustar([{ name: `${p}hl`, type: "1", link: `${p}later` }, { name: `${p}later`, data: "x" }]), /not earlier in the archive/],
  ["a character device", (p) => ustar([{ name: `${p}mem`, type: "3", patch: (h) => h.write("0000001\0", 329) }]), /character device/],
  ["a block device", (p) => ustar([{ name: `${p}sda`, type: "4", patch: (h) => h.write("0000010\0", 329) }]), /block device/],
  ["a file capability", (p) => ustar([{ name: `${p}ping`, data: "x", pax: { "SCHILY.xattr.security.capability": "\x01\x00\x00\x02" } }]), /file capabilities/],
  ["a trusted.* xattr", (p) => ustar([{ name: `${p}f`, data: "x", pax: { "SCHILY.xattr.trusted.overlay.opaque": "y" } }]), /xattr "trusted\.overlay\.opaque" is not accepted/],
  [
    "a pax size override hiding a header",
    (p) => {
      const hidden = tarBlocks([{ name: PWNED, data: "pwned" }]);
      return ustar([{ name: `${p}cover`, data: hidden, pax: { size: "0" } }]);
    },
    /absolute path/,
  ],
  ["a pax sparse map", (p) => ustar([{ name: `${p}sparse`, data: "x", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0" } }]), /sparse files are not accepted/],
  ["an unknown pax keyword", (p) => ustar([{ name: `${p}f`, data: "x", pax: { "LIBARCHIVE.xattr.user.a": "eA==" } }]), /pax keyword "LIBARCHIVE\.xattr\.user\.a" is not accepted/],
  ["a pax path with ..", (p) => ustar([{ name: `${p}f`, data: "x", pax: { path: `${p}../../../../../..${PWNED}` } }]), /contains "\.\."/],
  ["a pax path that is absolute", (p) => ustar([{ name: `${p}f`, data: "x", pax: { path: PWNED } }]), /absolute path/],
  ["a pax linkpath escaping by hard link", (p) => ustar([{ name: `${p}hl`, type: "1", pax: { linkpath: "/etc/shadow" } }]), /absolute path/],
  ["a pax record with a wrong length", (p) => ustar([{ name: "PaxHeader/f", type: "x", data: "99 path=/etc/x\n" }, { name: `${p}f`, data: "x" }]), /corrupt pax header/],
  ["a pax header repeating a key", (p) => ustar([{ name: "PaxHeader/f", type: "x", data: Buffer.concat([paxRecords({ path: "a/b" }), paxRecords({ path: "/etc/x" })]) }, { name: `${p}f`, data: "x" }]), /repeats "path"/],
  ["a pax value with a NUL", (p) => ustar([{ name: `${p}f`, data: "x", pax: { path: `${p}a\0/etc/passwd` } }]), /NUL/],
  ["a global pax header", (p) => ustar([{ name: "pax_global_header", type: "g", data: "20 path=/etc/pwned\n" }, { name: `${p}f`, data: "x" }]), /global pax header/],
  ["two pax headers for one member", (p) => ustar([{ name: "P/1", type: "x", data: paxRecords({ uid: "0" }) }, { name: "P/2", type: "x", data: paxRecords({ gid: "0" }) }, { name: `${p}f`, data: "x" }]), /two "x" headers/],
  ["an extended header at the end", () => Buffer.concat([tarBlocks([{ name: "P/1", type: "x", data: paxRecords({ uid: "0" }) }]), Buffer.alloc(1024)]), /extended header not followed by a member/],
  ["an unknown typeflag", (p) => ustar([{ name: `${p}z`, type: "Z", data: "x" }]), /unknown type "Z"/],
  ["a GNU dumpdir", (p) => ustar([{ name: `${p}dd`, type: "D", format: "gnu", data: "Nfile\0\0" }]), /GNU dumpdir/],
  ["an old-GNU sparse file", (p) => ustar([{ name: `${p}sp`, type: "S", format: "gnu", data: "x" }]), /old-GNU sparse/],
  ["a multi-volume continuation", (p) => ustar([{ name: `${p}mv`, type: "M", format: "gnu", data: "x" }]), /multi-volume/],
  ["a volume label", () => ustar([{ name: "label", type: "V", format: "gnu" }]), /volume label/],
  ["a contiguous file", (p) => ustar([{ name: `${p}c`, type: "7", data: "x" }]), /contiguous file/],
  ["a GNU header with an offset (multi-volume) field", (p) => ustar([{ name: `${p}f`, format: "gnu", data: "x", patch: (h) => h.write("00000001000\0", 369) }]), /GNU header with atime/],
  ["a GNU header whose prefix area hides a path", (p) => ustar([{ name: `${p}f`, format: "gnu", data: "x", patch: (h) => h.write("/etc", 345) }]), /GNU header with atime/],
  ["a ustar prefix making an absolute path", () => ustar([{ name: "pwned", prefix: "/etc", data: "x" }]), /absolute path/],
  ["a ustar prefix with ..", (p) => ustar([{ name: "pwned", prefix: `${p}../../../../..`, data: "x" }]), /contains "\.\."/],
  ["a v7 header without magic", (p) => ustar([{ name: `${p}f`, format: "v7", data: "x" }]), /neither POSIX ustar nor GNU/],
  ["a GNU long name that is absolute", () => ustar([{ name: "././@LongLink", type: "L", format: "gnu", data: `${PWNED}\0` }, { name: "short", format: "gnu", data: "x" }]), /absolute path/],
  ["a GNU long link out of the tree", (p) => ustar([{ name: "././@LongLink", type: "K", format: "gnu", data: "../../../../../../etc/passwd\0" }, { name: `${p}hl`, type: "1", format: "gnu" }]), /contains "\.\."/],
  ["a pax path and a GNU long name together", (p) => ustar([{ name: "././@LongLink", type: "L", format: "gnu", data: `${p}a\0` }, { name: `${p}f`, data: "x", pax: { path: `${p}b` } }]), /both a pax path and a GNU long name/],
  ["an oversized GNU long name", () => ustar([{ name: "././@LongLink", type: "L", format: "gnu", data: "a/".repeat(60_000) }]), /oversized GNU long-name header/],
  ["a 1 MiB-deep pax path (the quadratic check)", (p) => ustar([{ name: `${p}f`, data: "x", pax: { path: `${p}${"a/".repeat(400_000)}f` } }]), /longer than 4096 bytes|oversized pax header/],
  ["a name component over 255 bytes", (p) => ustar([{ name: `${p}f`, data: "x", pax: { path: `${p}${"n".repeat(300)}` } }]), /component longer than 255/],
  ["a lone zero block, then more members", (p) => Buffer.concat([Z, tarBlocks([{ name: `${p}after`, data: "x" }]), Buffer.alloc(1024)]), /lone zero block/],
  ["a lone zero block at the end", () => Buffer.concat([Z]), /lone zero block|truncated/],
  ["data after the end of the archive", (p) => Buffer.concat([ustar([{ name: `${p}ok`, data: "x" }]), tarBlocks([{ name: PWNED, data: "smuggled" }])]), /data after the end of the archive/],
  ["a truncated member", (p) => ustar([{ name: `${p}big`, data: "y".repeat(4000) }]).subarray(0, 1536), /truncated/],
  ["a corrupt checksum", (p) => ustar([{ name: `${p}f`, data: "x", badChecksum: true }]), /bad checksum/],
  ["a size field that is not octal", (p) => ustar([{ name: `${p}f`, data: "x", patch: (h) => h.write("0000000001x\0", 124) }]), /not octal/],
  ["a negative base-256 size", (p) => ustar([{ name: `${p}f`, data: "x", patch: (h) => h.fill(0xff, 124, 136) }]), /negative or malformed/],
  ["a directory carrying data", (p) => ustar([{ name: `${p}d`, type: "5", data: tarBlocks([{ name: PWNED, data: "x" }]) }]), /dir with \d+ data bytes/],
  ["an old-style regular member named like a directory, hiding headers", (p) => ustar([{ name: `${p}esc/`, type: "\0", data: tarBlocks([{ name: PWNED, data: "x" }]) }]), /file with a directory's trailing slash/],
  ["a symlink carrying data", (p) => ustar([{ name: `${p}s`, type: "2", link: "x", data: tarBlocks([{ name: PWNED, data: "x" }]) }]), /symlink with \d+ data bytes/],
  ["a member under a regular file", (p) => ustar([{ name: `${p}f`, data: "x" }, { name: `${p}f/under`, data: "y" }]), /goes through file/],
  ["a symlink with no target", (p) => ustar([{ name: `${p}s`, type: "2", link: "" }]), /has no target/],
  ["a regular file with an empty name", () => ustar([{ name: ".", type: "0", data: "x" }]), /empty name/],
];

before(async () => {
  writeFileSync(join(sentinel, "victim"), "original\n");
  mkdirSync(join(sentinel, "dir"));
  writeFileSync(join(sentinel, "dir", "inner"), "inner\n");
  // The stand-in's host: a Debian vz.conf and its own proc root for the emulated kernel files.
  mkdirSync(join(root, "vzroot/etc/vz/conf"), { recursive: true });
  writeFileSync(join(root, "vzroot/etc/vz/vz.conf"), standinVzConf(join(root, "vzroot"), "debian"));
  mkdirSync(join(root, "vzproc"), { recursive: true });
  const cfg = parseAgentConfig([
    ...["--name", TARGET, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, "state")],
    ...["--vzctl", STANDIN_VZCTL, "--vzlist", STANDIN_VZLIST, "--vz-root", join(root, "vzroot")],
    ...["--openvz-proc-root", join(root, "vzproc")],
  ]);
  ca = await createCertificateAuthority();
  controllerTls = await issueCredentials(ca, CONTROLLER_IDENTITY);
  sourceTls = await issueCredentials(ca, { kind: "host", name: SOURCE });
  writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name: TARGET }));
  agent = await startAgent(cfg, log, { report: false });
  client = new AgentClient(agent.address, controllerTls, { kind: "host", name: TARGET });
  fromSource = new AgentClient(agent.address, sourceTls, { kind: "host", name: TARGET });
});

after(async () => {
  client.close();
  fromSource.close();
  await agent.close();
  // LXD's client keeps connections alive; let the process end.
  for (const b of agent.registry.available()) (b as { close?: () => void }).close?.();
  rmSync(root, { recursive: true, force: true });
  rmSync(sentinel, { recursive: true, force: true });
});

for (const shape of SHAPES) {
  const reason = (): string | undefined => (shape.backend === "openvz" ? standinSkipReason() : undefined);
  describe(`${shape.backend}: hostile archives are refused and change nothing`, () => {
    const available = () => agent.registry.available().some((b) => b.name === shape.backend);
    const archive = (tail: Buffer) => shape.wrap(Buffer.concat([tarBlocks(shape.base()), tail]));

    test(`control: the benign ${shape.backend} archive the cases build on is accepted`, { skip: reason() }, async (t) => {
      if (!available()) return t.skip(`${shape.backend} is not available here`);
      const tk = await receive(shape.backend, archive(Buffer.alloc(1024)));
      await client.abortReceive(tk, { name: NAME, backend: shape.backend });
      assert.deepEqual(stagingEntries(), []);
    });

    for (const [what, tail, message] of GENERIC) {
      test(`${shape.backend}: ${what}`, { skip: reason() }, async (t) => {
        if (!available()) return t.skip(`${shape.backend} is not available here`);
        await refused(shape.backend, archive(tail(shape.prefix)), message);
      });
    }
  });
}

// ---- runtime config inside the archive: only what Corral writes survives a move ----

const lxcWith = (config: string, more: TarEntry[] = []) =>
  ustar([{ name: `${NAME}/`, type: "5" }, { name: `${NAME}/config`, data: config }, { name: `${NAME}/rootfs/`, type: "5" }, ...more]);

const LXC_CONFIG_CASES: [string, Buffer, RegExp][] = [
  ["a pre-start hook", lxcWith(`${LXC_CONFIG}lxc.hook.pre-start = /bin/sh -c "touch ${PWNED}"\n`), /"lxc\.hook\.pre-start"/],
  ["a bind mount of a host directory", lxcWith(`${LXC_CONFIG}lxc.mount.entry = ${sentinel} mnt none bind,create=dir 0 0\n`), /"lxc\.mount\.entry"/],
  ["an include", lxcWith(`${LXC_CONFIG}lxc.include = /usr/share/lxc/config/nesting.conf\n`), /"lxc\.include"/],
  ["a rootfs on a host path", lxcWith(LXC_CONFIG.replace(/lxc\.rootfs\.path = .*/, "lxc.rootfs.path = dir:/")), /"lxc\.rootfs\.path"/],
  ["an AppArmor setting", lxcWith(`${LXC_CONFIG}lxc.apparmor.allow_nesting = 1\n`), /"lxc\.apparmor\.allow_nesting"/],
  ["kept capabilities", lxcWith(`${LXC_CONFIG}lxc.cap.keep = sys_admin\n`), /"lxc\.cap\.keep"/],
  ["a device cgroup rule", lxcWith(`${LXC_CONFIG}lxc.cgroup.devices.allow = a\n`), /"lxc\.cgroup\.devices\.allow"/],
  ["a log file on the host", lxcWith(`${LXC_CONFIG}lxc.log.file = ${sentinel}/victim\n`), /"lxc\.log\.file"/],
  ["a network up script", lxcWith(`${LXC_CONFIG}lxc.net.0.script.up = /tmp/x\n`), /"lxc\.net\.0\.script\.up"/],
  ["an id map onto host root", lxcWith(`${LXC_CONFIG}lxc.idmap = u 0 0 65536\n`), /"lxc\.idmap"/],
  [
    "a setuid root file outside the container's id map",
    lxcWith(`${LXC_CONFIG}lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n`, [{ name: `${NAME}/rootfs/suid`, data: "x", mode: 0o4755, uid: 0 }]),
    /setuid\/setgid file .* outside the container's id map/,
  ],
  ["a config that is an absolute symlink", ustar([{ name: `${NAME}/`, type: "5" }, { name: `${NAME}/config`, type: "2", link: `${sentinel}/victim` }, { name: `${NAME}/rootfs/`, type: "5" }]), /config" cannot be opened \(ELOOP\)/],
  ["a container directory that is an absolute symlink", ustar([{ name: NAME, type: "2", link: `${sentinel}/dir` }]), /is not a directory \(a symlink\?\)/],
  ["a rootfs that is a symlink", ustar([{ name: `${NAME}/`, type: "5" }, { name: `${NAME}/config`, data: LXC_CONFIG }, { name: `${NAME}/rootfs`, type: "2", link: "/" }]), /rootfs" is missing or not a directory/],
  ["no config at all", ustar([{ name: `${NAME}/rootfs/`, type: "5" }]), /no victim\/config/],
];

const ovzWith = (conf: string, more: TarEntry[] = []) =>
  ustar([{ name: `etc/vz/conf/${CTID}.conf`, data: conf }, { name: `var/lib/vz/private/${CTID}/`, type: "5" }, ...more]);
const OVZ_CONFIG_CASES: [string, Buffer, RegExp][] = [
  ["device access", ovzWith(`${OVZ_CONFIG}DEVICES="c:1:3:rw"\n`), /"DEVICES"/],
  ["a capability", ovzWith(`${OVZ_CONFIG}CAPABILITY="SYS_ADMIN:on"\n`), /"CAPABILITY"/],
  ["a host network device", ovzWith(`${OVZ_CONFIG}NETDEV="eth0"\n`), /"NETDEV"/],
  ["a shell expansion in a value", ovzWith(`${OVZ_CONFIG}HOSTNAME="$(touch ${PWNED})"\n`), /unsafe line/],
  ["a config that is a symlink", ustar([{ name: `etc/vz/conf/${CTID}.conf`, type: "2", link: "/etc/passwd" }, { name: `var/lib/vz/private/${CTID}/`, type: "5" }]), /symlink/],
  ["a private area that is a symlink", ustar([{ name: `etc/vz/conf/${CTID}.conf`, data: OVZ_CONFIG }, { name: `var/lib/vz/private/${CTID}`, type: "2", link: sentinel }]), /is not a directory \(a symlink\?\)/],
];

const dockerWith = (patch: (c: typeof DOCKER_CONFIG & Record<string, unknown>) => void) => {
  const c = structuredClone(DOCKER_CONFIG) as typeof DOCKER_CONFIG & Record<string, unknown>;
  patch(c);
  return dockerArchive(c, ustar([{ name: "etc/", type: "5" }]));
};
const DOCKER_CONFIG_CASES: [string, Buffer, RegExp][] = [
  ["Privileged", dockerWith((c) => Object.assign(c.hostConfig, { Privileged: true })), /"hostConfig\.Privileged"/],
  ["Binds", dockerWith((c) => Object.assign(c.hostConfig, { Binds: ["/:/host"] })), /"hostConfig\.Binds"/],
  ["Devices", dockerWith((c) => Object.assign(c.hostConfig, { Devices: [{ PathOnHost: "/dev/mem", PathInContainer: "/dev/mem", CgroupPermissions: "rwm" }] })), /"hostConfig\.Devices"/],
  ["CapAdd", dockerWith((c) => Object.assign(c.hostConfig, { CapAdd: ["SYS_ADMIN"] })), /"hostConfig\.CapAdd"/],
  ["the host's pid namespace", dockerWith((c) => Object.assign(c.hostConfig, { PidMode: "host" })), /"hostConfig\.PidMode"/],
  ["the host's network namespace", dockerWith((c) => Object.assign(c.hostConfig, { NetworkMode: "host" })), /"hostConfig\.NetworkMode"/],
  ["volumes in the image config", dockerWith((c) => Object.assign(c.config, { Volumes: { "/host": {} } })), /"config\.Volumes"/],
  ["an unknown top-level field", dockerWith((c) => Object.assign(c, { Mounts: [] })), /sets "Mounts"/],
];

const lxdWith = (extra: Parameters<typeof LXD_INSTANCE>[0]) =>
  ustar([
    { name: "backup/index.yaml", data: lxdIndex(LXD_INSTANCE(extra)) },
    { name: "backup/container/backup.yaml", data: lxdBackup(LXD_INSTANCE(extra)) },
    { name: "backup/container/rootfs/", type: "5" },
  ]);
const LXD_CONFIG_CASES: [string, Buffer, RegExp][] = [
  ["raw.lxc", lxdWith({ config: `\n      raw.lxc: "lxc.hook.pre-start = /bin/sh -c 'touch ${PWNED}'"` }), /"raw\.lxc"/],
  ["security.privileged", lxdWith({ config: '\n      security.privileged: "true"' }), /"security\.privileged"/],
  ["linux.kernel_modules", lxdWith({ config: "\n      linux.kernel_modules: overlay" }), /"linux\.kernel_modules"/],
  ["an id map onto host root", lxdWith({ config: `\n      volatile.idmap.next: '[{"Isuid":true,"Isgid":true,"Hostid":0,"Nsid":0,"Maprange":65536}]'` }), /host ids below 65536/],
  ["a disk device with a host source", lxdWith({ devices: `host: {type: disk, source: "${sentinel}", path: /mnt}` }), /disk other than the root disk/],
  ["a unix-char device", lxdWith({ devices: "mem: {type: unix-char, path: /dev/mem}" }), /type "unix-char"/],
  ["a proxy reaching the host from the container", lxdWith({ devices: "p: {type: proxy, bind: container, listen: 'unix:/s', connect: 'unix:/var/lib/lxd/unix.socket'}" }), /proxy Corral did not write/],
  ["a foreign profile", lxdWith({ profiles: "[default, nested]" }), /profiles other than "default"/],
  ["a YAML alias bomb", ustar([{ name: "backup/index.yaml", data: "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n" }, { name: "backup/container/backup.yaml", data: "{}" }]), /not valid YAML/],
  ["no index.yaml", ustar([{ name: "backup/container/rootfs/", type: "5" }]), /has no backup\/index\.yaml/],
];

for (const [backend, cases, why] of [
  ["lxc", LXC_CONFIG_CASES, undefined],
  ["openvz", OVZ_CONFIG_CASES, standinSkipReason()],
  ["docker", DOCKER_CONFIG_CASES, undefined],
  ["lxd", LXD_CONFIG_CASES, undefined],
] as const) {
  describe(`${backend}: runtime config from another host`, () => {
    for (const [what, bytes, message] of cases) {
      test(`${backend} config: ${what} is refused, with the key named`, { skip: why }, async (t) => {
        if (!agent.registry.available().some((b) => b.name === backend)) return t.skip(`${backend} is not available here`);
        await refused(backend, bytes, message);
      });
    }
  });
}

// ---- the stream around the archive ----

describe("the transfer stream", () => {
  test("a zstd bomb is cut at the announced size", async () => {
    const bomb = execFileSync("sh", ["-c", "head -c 200M /dev/zero | zstd -19 -q -c"], { maxBuffer: 64 << 20 });
    assert.ok(bomb.length < 64 * 1024, `the bomb is small (${bomb.length} bytes)`);
    await refused("lxc", bomb, /larger than announced at prepare \(1\.0 MiB\) plus slack/, { compression: "zstd", expectedBytes: 1 << 20, announce: 0 });
  });

  test("without a size from the controller, the source's own announcement caps the stream", async () => {
    const bomb = execFileSync("sh", ["-c", "head -c 200M /dev/zero | zstd -19 -q -c"], { maxBuffer: 64 << 20 });
    await refused("lxc", bomb, /larger than announced by the source \(\d+(\.\d)? KiB\) plus slack/, { compression: "zstd" });
  });

  test("a source announcing more than the free space is refused before a byte lands", async () => {
    await refused("lxc", lxcWith(LXC_CONFIG), /the source announces 4\.0 PiB|the source announces 4096 TiB/, { announce: 2 ** 52 });
  });

  test("the compression is the one agreed at prepare, not the one the stream claims", async () => {
    await refused("lxc", lxcWith(LXC_CONFIG), /claims compression "zstd", but "none" was agreed/, { compression: "none", claim: "zstd" });
  });

  test("an announcement above the free space is refused at prepare", async () => {
    await assert.rejects(client.prepareReceive(prepared(token(), { name: NAME, backend: "lxc" }, "none", 2 ** 52)), /does not fit/);
  });
});

// ---- transfer tokens: bound at prepare to the migration, the container and both hosts ----

describe("transfer tokens", () => {
  const ref = { name: NAME, backend: "lxc" as const };
  const benign = () => lxcWith(LXC_CONFIG);
  async function* stream(t: string, bytes: Buffer, header: Partial<{ sourceHost: string; archiveFormat: string; name: string }> = {}): AsyncGenerator<ArchiveChunk> {
    yield {
      kind: "header",
      header: {
        token: t,
        ref: { ...ref, name: header.name ?? NAME },
        compression: "none",
        totalBytes: bytes.length,
        sourceHost: header.sourceHost ?? SOURCE,
        archiveFormat: header.archiveFormat ?? "lxc-dir-tar/1",
      },
    };
    yield { kind: "data", data: bytes };
    yield { kind: "trailer", trailer: { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length } };
  }

  test("a stream from a host other than the one bound at prepare is refused", async () => {
    const t = token();
    await client.prepareReceive(prepared(t, ref));
    await assert.rejects(fromSource.receiveArchive(stream(t, benign(), { sourceHost: "otherhost" })), /bound to source host "evilsource", stream says "otherhost"/);
    await client.abortReceive(t, ref);
  });

  test("a stream naming another container than the token's is refused", async () => {
    const t = token();
    await client.prepareReceive(prepared(t, ref));
    await assert.rejects(fromSource.receiveArchive(stream(t, benign(), { name: "other" })), /transfer token is for container "victim"/);
    await client.abortReceive(t, ref);
  });

  test("a token is used once: a replay after commit or abort is refused", async () => {
    const t = token();
    await client.prepareReceive(prepared(t, ref));
    await fromSource.receiveArchive(stream(t, benign()));
    await assert.rejects(fromSource.receiveArchive(stream(t, benign())), (e: Error & { code?: string }) => e.code === "permission_denied" && /already used/.test(e.message));
    await client.abortReceive(t, ref);
    await assert.rejects(fromSource.receiveArchive(stream(t, benign())), /unknown, expired or already used transfer token/);
    await assert.rejects(client.commitReceive(t), /no verified archive/);
    assert.deepEqual(stagingEntries(), []);
  });

  test("abort with a token refuses to touch a container other than the token's", async () => {
    const t = token();
    await client.prepareReceive(prepared(t, ref));
    await assert.rejects(client.abortReceive(t, { name: "innocent", backend: "lxc" }), /transfer token belongs to container "victim" \(lxc\), not "innocent"/);
    await client.abortReceive(t, ref);
  });

  test("a token prepared for another target host, or with a malformed binding, is refused at prepare", async () => {
    await assert.rejects(client.prepareReceive({ ...prepared(token(), ref), targetHost: "elsewhere" }), /prepared for host "elsewhere"/);
    await assert.rejects(client.prepareReceive({ ...prepared(token(), ref), migrationId: "../../etc" }), /invalid migration id/);
    await assert.rejects(client.prepareReceive({ ...prepared(token(), ref), token: "abc" }), /malformed transfer token/);
    await assert.rejects(client.prepareReceive({ ...prepared(token(), ref), ref: { name: "../x", backend: "lxc" } }), /invalid container name/);
  });

  test("the archive format is the target backend's own", async () => {
    const t = token();
    await client.prepareReceive(prepared(t, ref));
    await assert.rejects(fromSource.receiveArchive(stream(t, benign(), { archiveFormat: "lxd-backup/1" })), /lxc cannot restore archive format "lxd-backup\/1": expected lxc-dir-tar\/1/);
    await client.abortReceive(t, ref);
  });

  test("names with ../ never reach a backend", async () => {
    await assert.rejects(client.setLimits({ name: "../../etc", backend: "lxc" }, { memoryBytes: 1 << 26, cpus: 0 }), /invalid container name/);
    await assert.rejects(client.inspect({ name: "a/../../b", backend: "lxc" }), /invalid container name/);
    await assert.rejects(client.abortReceive(token(), { name: "../x", backend: "lxc" }), /invalid container name/);
  });

  test("a finished migration's token replayed to abort cannot destroy an unrelated container", async () => {
    const innocent = { name: "innocent", backend: "lxc" as const };
    await client.create({ ...innocent, template: "busybox", image: "", limits: { memoryBytes: 0, cpus: 0 }, env: [], cmd: [], ports: [], labels: {} });
    try {
      const t = token();
      await client.prepareReceive(prepared(t, ref));
      await fromSource.receiveArchive(stream(t, benign()));
      assert.equal((await client.commitReceive(t)).state, "stopped");
      await assert.rejects(client.abortReceive(t, innocent), /transfer token belongs to container "victim" \(lxc\), not "innocent"/);
      assert.equal((await client.inspect(innocent)).state, "stopped");
      // The controller's own rollback, with the token's ref, still removes what the token made; once.
      assert.deepEqual(await client.abortReceive(t, ref), { removedStaging: false, removedContainer: true });
      await assert.rejects(client.inspect(ref), /not found/);
      assert.deepEqual(await client.abortReceive(t, innocent), { removedStaging: false, removedContainer: false });
      assert.equal((await client.inspect(innocent)).state, "stopped");
    } finally {
      await client.remove(innocent).catch(() => undefined);
      await client.remove(ref).catch(() => undefined);
    }
  });

  test("a stream whose authenticated peer is not the bound source host is refused", async () => {
    const m = new ReceiveManager(agent.registry, join(root, "markers-peer"), log, { hostName: TARGET });
    try {
      await m.cleanupStaging();
      const t = token();
      await m.prepare(prepared(t, ref));
      await assert.rejects(m.receive(stream(t, benign()), "otherhost"), /bound to source host "evilsource", the connection is from "otherhost"/);
      assert.deepEqual(stagingEntries(), []);
    } finally {
      m.close();
    }
  });

  test("received but uncommitted staging expires, and the token with it", async () => {
    const cfg = parseAgentConfig(["--name", `${TARGET}b`, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, "state-b")]);
    writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name: cfg.name }));
    const short = await startAgent(cfg, log, { report: false, backends: [agent.registry.get("lxc")], receive: { stagingTtlMs: 300 } });
    const c = new AgentClient(short.address, controllerTls, { kind: "host", name: cfg.name });
    const src = new AgentClient(short.address, sourceTls, { kind: "host", name: cfg.name });
    try {
      const t = token();
      await c.prepareReceive({ ...prepared(t, ref), targetHost: cfg.name });
      await src.receiveArchive(stream(t, benign()));
      const stagingRoot = agent.registry.get("lxc").stagingRoot();
      assert.equal(readdirSync(stagingRoot).length, 1);
      await new Promise((r) => setTimeout(r, 1200));
      assert.deepEqual(readdirSync(stagingRoot), []);
      await assert.rejects(c.commitReceive(t), /no verified archive/);
      const t2 = token();
      await c.prepareReceive({ ...prepared(t2, ref), targetHost: cfg.name });
      await new Promise((r) => setTimeout(r, 1200));
      await assert.rejects(src.receiveArchive(stream(t2, benign())), /unknown, expired or already used/);
    } finally {
      c.close();
      src.close();
      await short.close();
    }
  });
});

// ---- archives made by real tools (GNU tar, Python's tarfile) at test time ----

describe("lxc: hostile archives made by GNU tar and Python's tarfile", () => {
  const work = join(root, "real");
  /** A tree shaped like an LXC container (name/config, name/rootfs), then `extra` runs inside it. */
  function tree(extra: (rootfs: string) => void): string {
    const dir = mkdtempSync(join(tmpdir(), "corral-real-"));
    mkdirSync(join(dir, NAME, "rootfs"), { recursive: true });
    writeFileSync(join(dir, NAME, "config"), LXC_CONFIG);
    extra(join(dir, NAME, "rootfs"));
    return dir;
  }
  const gnuTar = (dir: string, args: string[]) => execFileSync("tar", ["-c", "--numeric-owner", ...args, "-f", "-", "-C", dir, NAME], { maxBuffer: 256 << 20 });
  const python = (script: string) => execFileSync("python3", ["-c", script], { maxBuffer: 64 << 20 });
  const PY_HEAD = "import tarfile,io,sys\nb=io.BytesIO()\nt=tarfile.open(fileobj=b,mode='w',format=tarfile.PAX_FORMAT)\n";
  const PY_FILE = (name: string) => `i=tarfile.TarInfo(${JSON.stringify(name)});d=b'x';i.size=len(d);t.addfile(i,io.BytesIO(d))\n`;
  const PY_TAIL = "t.close();sys.stdout.buffer.write(b.getvalue())\n";

  const CASES: [string, () => Buffer, RegExp][] = [
    ["a file capability set by setcap", () => gnuTar(tree((r) => (writeFileSync(join(r, "ping"), "x"), execFileSync("setcap", ["cap_net_raw+ep", join(r, "ping")]))), ["--xattrs", "--xattrs-include=*"]), /file capabilities/],
    ["a device node made by mknod", () => gnuTar(tree((r) => (mkdirSync(join(r, "dev")), execFileSync("mknod", [join(r, "dev", "mem"), "c", "1", "1"]))), []), /character device/],
    ["a sparse file (pax sparse map)", () => gnuTar(tree((r) => execFileSync("truncate", ["-s", "64M", join(r, "sparse")])), ["--sparse", "--format=posix"]), /sparse files are not accepted/],
    ["a sparse file (old GNU)", () => gnuTar(tree((r) => execFileSync("truncate", ["-s", "64M", join(r, "sparse")])), ["--sparse", "--format=gnu"]), /old-GNU sparse|GNU header with/],
    ["an incremental dump (dumpdirs)", () => gnuTar(tree((r) => writeFileSync(join(r, "f"), "x")), [`--listed-incremental=${join(mkdtempSync(join(tmpdir(), "corral-snar-")), "snar")}`]), /GNU dumpdir|GNU header with/],
    ["a volume label", () => gnuTar(tree(() => undefined), ["-V", "label"]), /volume label|neither POSIX ustar nor GNU/],
    ["a v7 archive", () => gnuTar(tree(() => undefined), ["--format=v7"]), /neither POSIX ustar nor GNU/],
    ["absolute names (tar -P)", () => execFileSync("tar", ["-cP", "-f", "-", join(sentinel, "victim")]), /absolute path/],
    ["a zip-slip member", () => python(PY_HEAD + PY_FILE(`../../../../../..${PWNED}`) + PY_TAIL), /contains "\.\."/],
    [
      "a symlink then a file through it",
      () => python(`${PY_HEAD}i=tarfile.TarInfo('${NAME}/rootfs/lnk');i.type=tarfile.SYMTYPE;i.linkname=${JSON.stringify(sentinel)};t.addfile(i)\n${PY_FILE(`${NAME}/rootfs/lnk/victim`)}${PY_TAIL}`),
      /goes through symlink/,
    ],
    [
      "a second volume of a multi-volume archive",
      () => {
        mkdirSync(work, { recursive: true });
        const dir = tree((r) => writeFileSync(join(r, "big"), randomBytes(200_000)));
        execFileSync("tar", ["-c", "-M", "--tape-length=100", "-f", join(work, "v1.tar"), "-f", join(work, "v2.tar"), "-f", join(work, "v3.tar"), "-C", dir, NAME]);
        return readFileSync(join(work, "v2.tar"));
      },
      /multi-volume|volume label|GNU header with|neither POSIX ustar nor GNU/,
    ],
  ];
  for (const [what, make, message] of CASES) {
    test(`real tools, lxc: ${what}`, async () => {
      await refused("lxc", make(), message);
    });
  }
});
