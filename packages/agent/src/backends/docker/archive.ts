// Migration archive "docker-export+config/1": the container's config, then its filesystem.
//   "CORRAL-DOCKER-EXPORT/1\n" | u32 BE length | config JSON | `docker export` tar, to end of stream
// The filesystem goes last and runs to the end of the stream, so its size need not be known up
// front and the export streams straight through: no spooling to a temp file to fill a tar header.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { invalidArgument, type ContainerSpec } from "@corral/wire";
import type Docker from "dockerode";
import { limitsFromHostConfig, type PortBindings } from "./config.js";
import type { ImageConfig } from "./image-changes.js";
import { LABEL_HOST, LABEL_NAME, LABEL_SPEC } from "./runtime-names.js";
import { StreamHead } from "../stream-head.js";
import { copyTarSafely } from "../../archive/safe-extract.js";
import { checkDockerConfig, DOCKER_TAR_POLICY } from "./config-policy.js";

export const ARCHIVE_FORMAT = "docker-export+config/1";
const MAGIC = Buffer.from("CORRAL-DOCKER-EXPORT/1\n");
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
export const CONFIG_FILE = "config.json";
export const ROOTFS_FILE = "rootfs.tar";

export interface MigrationConfig {
  format: typeof ARCHIVE_FORMAT;
  spec: ContainerSpec;
  config: ImageConfig & { StopSignal: string };
  hostConfig: { PortBindings: PortBindings; Memory: number; NanoCpus: number; MemorySwap: number; CpuShares: number; PidsLimit: number };
}

const strings = (v: unknown): string[] | null => {
  if (typeof v === "string") return [v];
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : null;
};
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 0);
const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(record(v))) if (typeof x === "string") out[k] = x;
  return out;
}

function portBindingsFrom(v: unknown): PortBindings {
  const out: PortBindings = {};
  for (const [port, list] of Object.entries(record(v))) {
    if (!/^\d+\/(tcp|udp|sctp)$/.test(port) || !Array.isArray(list)) continue;
    out[port] = list.map((b) => ({ HostIp: str(record(b).HostIp), HostPort: str(record(b).HostPort) }));
  }
  return out;
}

function specFrom(v: unknown, name: string, image: string, hc: MigrationConfig["hostConfig"]): ContainerSpec {
  const s = record(v);
  const ports = Array.isArray(s.ports) ? s.ports : [];
  return {
    name,
    backend: "docker",
    template: str(s.template),
    image: str(s.image) || image,
    limits: limitsFromHostConfig(hc),
    env: strings(s.env) ?? [],
    cmd: strings(s.cmd) ?? [],
    ports: ports.map((p) => {
      const r = record(p);
      return { hostPort: num(r.hostPort), containerPort: num(r.containerPort), protocol: r.protocol === "udp" ? "udp" : "tcp" };
    }),
    labels: stringRecord(s.labels),
  };
}

/**
 * Builds the config from an inspect result, or re-validates one read from an archive: the archive
 * comes from another host, so only the fields Corral carries are kept (never Privileged, Binds, …).
 */
export function migrationConfig(name: string, raw: { Config?: unknown; HostConfig?: unknown; spec?: unknown }): MigrationConfig {
  const c = record(raw.Config);
  const h = record(raw.HostConfig);
  const labels = stringRecord(c.Labels);
  const specText = labels[LABEL_SPEC];
  for (const k of [LABEL_HOST, LABEL_NAME, LABEL_SPEC]) delete labels[k];
  const hostConfig = {
    PortBindings: portBindingsFrom(h.PortBindings),
    Memory: num(h.Memory),
    NanoCpus: num(h.NanoCpus),
    MemorySwap: num(h.MemorySwap),
    CpuShares: num(h.CpuShares),
    PidsLimit: num(h.PidsLimit),
  };
  let spec: unknown = raw.spec;
  if (spec === undefined && specText) spec = JSON.parse(specText) as unknown;
  const exposed: Record<string, Record<string, never>> = {};
  for (const port of Object.keys(record(c.ExposedPorts))) if (/^\d+\/(tcp|udp|sctp)$/.test(port)) exposed[port] = {};
  return {
    format: ARCHIVE_FORMAT,
    spec: specFrom(spec, name, str(c.Image), hostConfig),
    config: {
      Env: strings(c.Env) ?? [],
      Cmd: strings(c.Cmd),
      Entrypoint: strings(c.Entrypoint),
      WorkingDir: str(c.WorkingDir),
      User: str(c.User),
      Labels: labels,
      ExposedPorts: exposed,
      StopSignal: str(c.StopSignal),
    },
    hostConfig,
  };
}

export function configFromInspect(name: string, info: Docker.ContainerInspectInfo): MigrationConfig {
  return migrationConfig(name, { Config: info.Config, HostConfig: info.HostConfig });
}

/** The archive stream: header and config now, then the export piped behind them. */
export function encodeArchive(config: MigrationConfig, rootfs: Readable): { stream: Readable; finished: Promise<void> } {
  const json = Buffer.from(JSON.stringify(config));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const out = new PassThrough();
  out.write(Buffer.concat([MAGIC, len, json]));
  const finished = pipeline(rootfs, out);
  // The consumer sees a failure as a stream error; `finished` must not also crash the process.
  finished.catch(() => undefined);
  return { stream: out, finished };
}

/** Reads the header and config, writes config.json and rootfs.tar into stagingDir, consuming all input. */
export async function stageArchive(name: string, input: Readable, stagingDir: string): Promise<MigrationConfig> {
  const head = new StreamHead(input);
  const need = async (n: number): Promise<Buffer> => {
    const buf = await head.fill(n);
    if (buf.length < n) throw invalidArgument(`archive for "${name}" ended before its config was complete`);
    return buf;
  };
  try {
    let buf = await need(MAGIC.length + 4);
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw invalidArgument(`archive for "${name}" is not a ${ARCHIVE_FORMAT} archive`);
    }
    const size = buf.readUInt32BE(MAGIC.length);
    if (size > MAX_CONFIG_BYTES) throw invalidArgument(`archive for "${name}" has a ${size}-byte config; the limit is ${MAX_CONFIG_BYTES}`);
    const start = MAGIC.length + 4;
    buf = await need(start + size);
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.subarray(start, start + size).toString("utf8"));
    } catch (err) {
      throw invalidArgument(`archive for "${name}" has a config that is not valid JSON`, err);
    }
    const p = record(parsed);
    checkDockerConfig(p);
    if (p.format !== ARCHIVE_FORMAT) throw invalidArgument(`archive for "${name}" has config format "${str(p.format)}", expected ${ARCHIVE_FORMAT}`);
    const config = migrationConfig(name, { Config: p.config, HostConfig: p.hostConfig, spec: p.spec });
    await writeFile(join(stagingDir, CONFIG_FILE), JSON.stringify(config, null, 2));
    await copyTarSafely(head.rest(start + size), join(stagingDir, ROOTFS_FILE), DOCKER_TAR_POLICY);
    return config;
  } catch (err) {
    input.destroy();
    throw err;
  }
}
