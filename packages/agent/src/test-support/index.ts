// Fixtures for tests and benches of the backends (exported as @corral/agent/test-support): real
// runtimes brought up here, one context and one spec builder, and the runtime-level pieces a bench
// calls directly to compare the backend against.
export { buildBusyboxRootfs, type BusyboxRootfs } from "./busybox-rootfs.js";
export { testContext, testSpec } from "./context.js";
export { dockerdRunnable, importTestImage, sleepSpec, startExtraDockerd, TEST_IMAGE, type ExtraDockerd } from "./docker.js";
export { ensureLxd, tarballStream } from "./lxd.js";
export {
  busyboxSpec,
  removeStandinHost,
  standinHost,
  standinSkipReason,
  standinVzConf,
  STANDIN_TEMPLATE,
  STANDIN_VZCTL,
  type StandinHost,
} from "./openvz-standin.js";
export { createDockerBackend } from "../backends/docker/index.js";
export { createOptions } from "../backends/docker/config.js";
export { runtimeName as dockerRuntimeName } from "../backends/docker/runtime-names.js";
export { createLxdBackend, LxdBackend } from "../backends/lxd/index.js";
export { ustar, type TarEntry } from "../archive/test-ustar.js";
export { createLxcBackend, LxcBackend } from "../backends/lxc/index.js";
export { syntheticGroup, writeSyntheticGroup, writeSyntheticTree, type SyntheticGroup } from "./cgroup-tree.js";
export { CgroupReader, emptySample, type CgroupSample, type CgroupVersion } from "../usage/cgroup.js";
