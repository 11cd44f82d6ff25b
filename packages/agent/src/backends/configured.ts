// The backends this agent knows how to drive, built from its configuration. The registry probes
// which of them actually work on this host.
import type { Logger } from "pino";
import type { AgentConfig } from "../config.js";
import type { Backend, BackendContext } from "./backend.js";
import type { HostNetwork } from "../network/host-network.js";
import { createLxcBackend } from "./lxc/index.js";
import { createDockerBackend } from "./docker/index.js";
import { createLxdBackend } from "./lxd/index.js";
import { createOpenvzBackend } from "./openvz/index.js";

export function configuredBackends(cfg: AgentConfig, log: Logger, network?: HostNetwork): Backend[] {
  const ctx = (name: string): BackendContext => ({
    hostName: cfg.name,
    stateDir: cfg.stateDir,
    log: log.child({ backend: name }),
    ...(network ? { network } : {}),
  });
  return [
    createLxcBackend(ctx("lxc"), { lxcPath: cfg.lxcPath }),
    createDockerBackend(ctx("docker"), {
      socketPath: cfg.dockerSocket,
      ...(cfg.dockerCgroupParent ? { cgroupParent: cfg.dockerCgroupParent } : {}),
    }),
    createLxdBackend(ctx("lxd"), { socketPath: cfg.lxdSocket, project: cfg.lxdProject, ...(cfg.lxdBridge ? { bridge: cfg.lxdBridge } : {}) }),
    createOpenvzBackend(ctx("openvz"), {
      vzctl: cfg.vzctl,
      vzlist: cfg.vzlist,
      vzRoot: cfg.vzRoot,
      vzConf: cfg.openvzConf,
      procRoot: cfg.openvzProcRoot,
      hostScripts: cfg.openvzHostScripts,
    }),
  ];
}
