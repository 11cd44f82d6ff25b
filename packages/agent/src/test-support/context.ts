// The one BackendContext and the one ContainerSpec builder for tests and benches of every backend.
import type { BackendName, ContainerSpec } from "@corral/wire";
import pino from "pino";
import type { BackendContext } from "../backends/backend.js";

/** A quiet context for a backend standing for host `hostName`, its state under `stateDir`. */
export function testContext(hostName: string, stateDir: string): BackendContext {
  return { hostName, stateDir, log: pino({ level: "silent" }) };
}

/** A spec with every field empty but name and backend, then `extra` on top. */
export function testSpec(backend: BackendName, name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    backend,
    template: "",
    image: "",
    limits: { memoryBytes: 0, cpus: 0 },
    env: [],
    cmd: [],
    ports: [],
    labels: {},
    ...extra,
  };
}
