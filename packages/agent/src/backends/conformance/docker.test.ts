// Conformance of the Docker backend against real dockerds: the fixture starts two, each with its
// own socket, data root and cgroup parent, standing for two hosts. Only the source has the image:
// the migration must carry everything the target needs.
import { buildBusyboxRootfs } from "../../test-support/busybox-rootfs.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDockerBackend } from "../docker/index.js";
import {
  dockerdRunnable,
  importTestImage,
  sleepSpec,
  startExtraDockerd,
  type ExtraDockerd,
} from "../../test-support/docker.js";
import { testContext } from "../../test-support/context.js";
import { runConformance } from "./harness.js";

runConformance("docker", {
  async skipReason() {
    return (await dockerdRunnable()) ? undefined : "dockerd is not installed or this is not root";
  },
  unavailable: () => ({
    backend: createDockerBackend(testContext("nodocker", tmpdir()), { socketPath: "/nonexistent/docker.sock" }),
    reason: /dockerd socket \/nonexistent\/docker.sock not found/,
  }),
  cannotLiftLimits: "dockerd 20.10's update treats 0 as unchanged and refuses a memory limit below 6 MB",
  async setup() {
    const root = mkdtempSync(join(tmpdir(), "corral-conf-docker-"));
    const daemons: ExtraDockerd[] = [];
    try {
      daemons.push(await startExtraDockerd(`confa${process.pid}`));
      daemons.push(await startExtraDockerd(`confb${process.pid}`));
    } catch (err) {
      await Promise.all(daemons.map((d) => d.stop()));
      throw err;
    }
    const [a, b] = daemons as [ExtraDockerd, ExtraDockerd];
    const source = createDockerBackend(testContext(`confa${process.pid}`, join(root, "a")), { socketPath: a.socketPath });
    const target = createDockerBackend(testContext(`confb${process.pid}`, join(root, "b")), { socketPath: b.socketPath });
    await importTestImage(a.socketPath, buildBusyboxRootfs({ dir: root }).tarball, root);
    return {
      source,
      target,
      spec: sleepSpec,
      teardown: async () => {
        await Promise.all(daemons.map((d) => d.stop()));
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
});
