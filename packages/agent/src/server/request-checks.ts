// The agent checks every field itself, as strictly as the controller does: a caller may be a
// compromised host, or anything that reached the agent's port (DESIGN.md, "Threat model").
import {
  invalidArgument,
  parseBackend,
  validateBackendLimits,
  validateName,
  type ContainerRef,
  type ContainerSpec,
  type ExecRequest,
  type PrepareReceive,
  type ProbePeer,
  type SendArchive,
} from "@corral/wire";

const TOKEN_RE = /^[0-9a-f]{64}$/;
// The controller's ids ("m-" + hex); kept to one path component of safe characters.
const MIGRATION_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Docker-style image references ([registry:port/]repo[:tag][@digest]) and LXD aliases; no spaces,
// no control characters, no "..".
const IMAGE_RE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;
const ADDRESS_RE = /^[A-Za-z0-9.-]{1,253}:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;
const MAX_ARGS = 4096;
const MAX_ARG_BYTES = 128 * 1024;

export function checkToken(token: string): void {
  if (typeof token !== "string" || !TOKEN_RE.test(token)) throw invalidArgument("malformed transfer token: expected 64 hex digits");
}

export function checkRef(ref: ContainerRef): ContainerRef {
  parseBackend(ref.backend);
  validateName("container", ref.name);
  return ref;
}

function checkStrings(what: string, list: readonly string[], max = MAX_ARGS): void {
  if (list.length > max) throw invalidArgument(`too many ${what}: ${list.length} (at most ${max})`);
  for (const s of list) {
    if (s.includes("\0")) throw invalidArgument(`${what} must not contain NUL bytes`);
    if (Buffer.byteLength(s) > MAX_ARG_BYTES) throw invalidArgument(`one of the ${what} is longer than ${MAX_ARG_BYTES} bytes`);
  }
}

function checkEnv(env: readonly string[]): void {
  checkStrings("environment entries", env);
  for (const e of env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw invalidArgument(`environment entry "${e.slice(0, 40)}" is not NAME=value`);
  }
}

export function checkImage(image: string, what = "image"): void {
  if (image !== "" && (!IMAGE_RE.test(image) || image.includes(".."))) throw invalidArgument(`invalid ${what} "${image.slice(0, 80)}"`);
}

export function checkSpec(spec: ContainerSpec): void {
  checkRef(spec);
  validateBackendLimits(spec.backend, spec.limits);
  if (spec.template !== "" && !/^[a-z0-9-]{1,63}$/.test(spec.template)) throw invalidArgument(`invalid template "${spec.template.slice(0, 80)}"`);
  checkImage(spec.image);
  checkEnv(spec.env);
  checkStrings("command arguments", spec.cmd);
  for (const p of spec.ports) {
    for (const [k, v] of [["host port", p.hostPort], ["container port", p.containerPort]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw invalidArgument(`invalid ${k} ${v}`);
    }
    if (p.containerPort === 0) throw invalidArgument("a published port needs a container port");
  }
  const labels = Object.entries(spec.labels);
  if (labels.length > 256) throw invalidArgument("too many labels");
  for (const [k, v] of labels) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(k)) throw invalidArgument(`invalid label key "${k.slice(0, 40)}"`);
    if (v.includes("\0") || v.length > 4096) throw invalidArgument(`invalid value for label "${k}"`);
  }
}

export function checkTimeout(seconds: number): void {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) throw invalidArgument(`invalid stop timeout ${seconds}: 0 to 3600 seconds`);
}

export function checkExec(req: ExecRequest): void {
  checkRef(req.ref);
  if (req.argv.length === 0) throw invalidArgument("exec needs a command");
  checkStrings("command arguments", req.argv);
  checkEnv(req.env);
}

export function checkPrepare(p: PrepareReceive): void {
  checkToken(p.token);
  checkRef(p.ref);
  if (!MIGRATION_ID_RE.test(p.migrationId)) throw invalidArgument(`invalid migration id "${p.migrationId.slice(0, 80)}"`);
  validateName("source host", p.sourceHost);
  validateName("target host", p.targetHost);
  if (p.sourceHost === p.targetHost) throw invalidArgument("source and target host are the same");
  if (!Number.isSafeInteger(p.expectedBytes) || p.expectedBytes < 0) throw invalidArgument(`invalid expected size ${p.expectedBytes}`);
}

export function checkSend(req: SendArchive): void {
  checkRef(req.ref);
  checkToken(req.token);
  if (!ADDRESS_RE.test(req.targetAddress)) throw invalidArgument(`invalid target address "${req.targetAddress.slice(0, 80)}"`);
  if (req.dataAddress !== undefined && !ADDRESS_RE.test(req.dataAddress)) throw invalidArgument(`invalid data address "${req.dataAddress.slice(0, 80)}"`);
}

export function checkProbe(p: ProbePeer): void {
  validateName("target host", p.targetHost);
  if (!ADDRESS_RE.test(p.dataAddress)) throw invalidArgument(`invalid data address "${p.dataAddress.slice(0, 80)}"`);
}
