// Agent configuration from flags, or a JSON config file with the same keys in camelCase.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { invalidArgument, parseListen, validateName } from "@corral/wire";

export interface AgentConfig {
  name: string;
  listen: string;
  advertise: string;
  controller: string;
  stateDir: string;
  lxcPath: string;
  dockerSocket: string;
  dockerCgroupParent: string;
  lxdSocket: string;
  /** The LXD project the host's instances, images and backups live in. */
  lxdProject: string;
  vzctl: string;
  vzlist: string;
  vzRoot: string;
  /** Where the OpenVZ kernel's files are read (vz/veinfo, bc/, vz/fairsched): /proc on a real host. */
  openvzProcRoot: string;
  /** The host's global OpenVZ configuration, vz.conf(5). */
  openvzConf: string;
  /** Whether a CT moved in brings its host-side action scripts (CTID.mount, ...): see OpenvzBackendOptions. */
  openvzHostScripts: "install" | "refuse";
  logLevel: string;
  /** A join token: used once, when the state directory holds no host certificate yet. */
  join: string | undefined;
  /** HOST:PORT for plain-HTTP Prometheus /metrics; "" serves none. */
  metricsListen: string;
  /** Links put on the Corral bridge besides the overlay (an uplink to an LXD bridge in another namespace). */
  bridgePorts: string[];
  /** The bridge LXD's NICs hang on; "" means the Corral bridge itself (LXD in the agent's namespace). */
  lxdBridge: string;
}

const FLAGS: Record<string, keyof AgentConfig> = {
  "--name": "name",
  "--listen": "listen",
  "--advertise": "advertise",
  "--controller": "controller",
  "--state-dir": "stateDir",
  "--lxc-path": "lxcPath",
  "--docker-socket": "dockerSocket",
  "--docker-cgroup-parent": "dockerCgroupParent",
  "--lxd-socket": "lxdSocket",
  "--lxd-project": "lxdProject",
  "--vzctl": "vzctl",
  "--vzlist": "vzlist",
  "--vz-root": "vzRoot",
  "--openvz-proc-root": "openvzProcRoot",
  "--openvz-conf": "openvzConf",
  "--openvz-host-scripts": "openvzHostScripts",
  "--log-level": "logLevel",
  "--join": "join",
  "--metrics-listen": "metricsListen",
  "--bridge-ports": "bridgePorts",
  "--lxd-bridge": "lxdBridge",
};

export const AGENT_USAGE = `usage: corral-agent --name NAME --listen HOST:PORT --controller HOST:PORT --state-dir DIR
                    [--advertise HOST:PORT] [--lxc-path DIR] [--docker-socket PATH] [--docker-cgroup-parent CG]
                    [--lxd-socket PATH] [--lxd-project NAME] [--vzctl PATH] [--vzlist PATH] [--vz-root DIR] [--log-level info]
                    [--openvz-proc-root DIR (/proc)] [--openvz-conf FILE (/etc/vz/vz.conf)] [--openvz-host-scripts refuse|install]
                    [--join TOKEN] [--metrics-listen HOST:PORT] [--bridge-ports IF,...] [--lxd-bridge BR]
                    [--config FILE.json]

  --join TOKEN   first start only: get this host's certificate from the controller with a token from
                 "corral host join-token"; it is stored in STATE-DIR/tls and used from then on
  --openvz-host-scripts install  an OpenVZ CT moved in from another host brings its CTID.mount, .umount,
                 .premount and .postumount, which vzctl runs as root here, as vzmigrate does (default refuse:
                 such a CT is refused, the script named)
  --lxd-project NAME     the LXD project this host's instances live in (default: LXD's "default"); it must
                         exist (lxc project create NAME), so that one LXD can serve other tenants beside Corral
  --bridge-ports IF,...  links to put on the Corral bridge (corral0) beside the overlay
  --lxd-bridge BR        the bridge LXD's container NICs use (default corral0; another one when LXD runs in
                         another network namespace and BR reaches corral0 through a --bridge-ports link)`;

export function parseAgentConfig(argv: string[]): AgentConfig {
  const given: Partial<AgentConfig> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = inline ?? argv[++i];
    if (flag === "--config") {
      if (!value) throw invalidArgument("--config needs a file");
      Object.assign(given, { ...JSON.parse(readFileSync(value, "utf8")), ...given });
      continue;
    }
    const key = FLAGS[flag];
    if (!key) throw invalidArgument(`unknown flag ${flag}\n${AGENT_USAGE}`);
    if (value === undefined) throw invalidArgument(`${flag} needs a value`);
    (given as Record<string, unknown>)[key] = value;
  }
  for (const k of ["name", "listen", "controller", "stateDir"] as const) {
    if (!given[k]) throw invalidArgument(`missing --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}\n${AGENT_USAGE}`);
  }
  validateName("host", given.name!);
  if (given.metricsListen) parseListen("--metrics-listen", given.metricsListen);
  const stateDir = given.stateDir!;
  return {
    name: given.name!,
    listen: given.listen!,
    advertise: given.advertise || given.listen!,
    controller: given.controller!,
    stateDir,
    lxcPath: given.lxcPath || join(stateDir, "lxc"),
    dockerSocket: given.dockerSocket || "/var/run/docker.sock",
    dockerCgroupParent: given.dockerCgroupParent || "",
    lxdSocket: given.lxdSocket || "/var/lib/lxd/unix.socket",
    lxdProject: given.lxdProject || "default",
    vzctl: given.vzctl || "vzctl",
    vzlist: given.vzlist || "vzlist",
    vzRoot: given.vzRoot || "/",
    openvzProcRoot: given.openvzProcRoot || "/proc",
    openvzConf: given.openvzConf || join(given.vzRoot || "/", "etc/vz/vz.conf"),
    openvzHostScripts: hostScriptsOf(given.openvzHostScripts),
    logLevel: given.logLevel || "info",
    join: given.join || process.env.CORRAL_JOIN_TOKEN || undefined,
    metricsListen: given.metricsListen || "",
    bridgePorts: listOf(given.bridgePorts),
    lxdBridge: typeof given.lxdBridge === "string" ? given.lxdBridge : "",
  };
}

/** A flag's comma list, or the JSON config's array. */
function listOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

function hostScriptsOf(v: string | undefined): "install" | "refuse" {
  if (v === undefined || v === "" || v === "refuse") return "refuse";
  if (v === "install") return "install";
  throw invalidArgument(`--openvz-host-scripts takes refuse or install, not "${v}"`);
}
