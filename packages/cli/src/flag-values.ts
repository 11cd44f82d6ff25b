// Flag values checked on this side, so a typo fails at once with exit 2 and never reaches the controller.
import { MAX_CPU_SHARES, MAX_PIDS, parseCpus, parseDuration, parseRole, parseSize, parseTtl, validateName, type LimitsPatch, type PortMapping, type TokenRole } from "@corral/wire";
import type { Args, FlagSpec } from "./args.js";
import { UsageError, asUsage } from "./usage-error.js";

export const memoryFlag = (text: string): number => asUsage(() => parseSize("memory", text, { requireUnit: true }));
export const cpusFlag = (text: string): number => asUsage(() => parseCpus(text));
/** The limit flags ct create and ct set share; `defaults` names create's defaults in the help. */
export const limitFlags = (defaults: { memory?: string; cpus?: string } = {}): FlagSpec[] => [
  { name: "memory", kind: "string", value: "SIZE", help: `memory limit such as 256M, 1G, 512MiB${defaults.memory ? ` (default ${defaults.memory})` : ""}` },
  { name: "swap", kind: "string", value: "SIZE", help: "swap on top of --memory, such as 128M" },
  { name: "cpus", kind: "string", value: "N", help: `CPU limit such as 1 or 0.5${defaults.cpus ? ` (default ${defaults.cpus})` : ""}` },
  { name: "cpu-shares", kind: "string", value: "N", help: "relative CPU weight, 1024 is normal (as docker --cpu-shares)" },
  { name: "pids", kind: "string", value: "N", help: "most processes and threads at once" },
  { name: "disk", kind: "string", value: "SIZE", help: "root disk quota, such as 2G (lxd on a pool with quotas, openvz)" },
];

/** The limits given as flags (each left out when its flag is); sizes need a unit. */
export function limitsFromFlags(a: Args): LimitsPatch {
  const size = (flag: string, what: string): number | undefined => {
    const v = a.string(flag);
    return v === undefined ? undefined : asUsage(() => parseSize(what, v, { requireUnit: true }));
  };
  const count = (flag: string, max: number): number | undefined => {
    const v = a.string(flag);
    return v === undefined ? undefined : countFlag(flag, v, max);
  };
  const cpus = a.string("cpus");
  const patch: LimitsPatch = {
    memoryBytes: size("memory", "memory"),
    swapBytes: size("swap", "swap"),
    cpus: cpus === undefined ? undefined : cpusFlag(cpus),
    cpuShares: count("cpu-shares", MAX_CPU_SHARES),
    pidsMax: count("pids", MAX_PIDS),
    diskBytes: size("disk", "disk limit"),
  };
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as LimitsPatch;
}
export const nameArg = (kind: string, text: string): string => asUsage(() => validateName(kind, text));
export const roleFlag = (text: string): TokenRole => asUsage(() => parseRole(text));
/** Seconds. */
export const ttlFlag = (text: string): number => asUsage(() => parseTtl(text));

/** KEY=VALUE; the value may be empty or hold further "=" signs. */
export function envFlag(text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) {
    throw new UsageError(`invalid env "${text}": expected KEY=VALUE with KEY made of letters, digits and '_'`);
  }
  return text;
}

export function labelFlag(text: string): [string, string] {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq);
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key)) throw new UsageError(`invalid label "${text}": expected key=value`);
  return [key, text.slice(eq + 1)];
}

/** "8080:80", "5353:53/udp". */
export function portFlag(text: string): PortMapping {
  const m = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  const hostPort = Number(m?.[1]);
  const containerPort = Number(m?.[2]);
  if (!m || !validPort(hostPort) || !validPort(containerPort)) {
    throw new UsageError(`invalid port "${text}": expected HOST:CONTAINER[/udp] such as 8080:80 or 5353:53/udp`);
  }
  return { hostPort, containerPort, protocol: m[3] === "udp" ? "udp" : "tcp" };
}
const validPort = (n: number) => Number.isInteger(n) && n > 0 && n < 65536;

/**
 * Splits --cmd "…" into argv the way a shell would split words: quotes and backslashes group,
 * nothing is expanded. Write `--cmd "sh -c '…'"` for shell features.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else cur += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) cur += text[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`invalid command "${text}": unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}

/** `key=value` or `key!=value` against host labels. */
export function constraintFlag(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*!?=[A-Za-z0-9._/-]*$/.test(text)) {
    throw new UsageError(`invalid constraint "${text}": expected key=value or key!=value`);
  }
  return text;
}

export function strategyFlag(text: string): string {
  if (text !== "binpack" && text !== "spread") throw new UsageError(`invalid strategy "${text}": expected binpack or spread`);
  return text;
}

export function countFlag(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`invalid --${flag} "${text}": expected a whole number from 1 to ${max}`);
  return n;
}

/** A duration flag ("30m", "12h", "2d") in seconds; the value and the flag's name are in the error. */
export const durationFlag = (flag: string, text: string): number => asUsage(() => parseDuration(flag, text));
