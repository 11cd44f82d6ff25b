// Conformance of the LXC backend against the real lxc-* tools: two lxcpaths stand for two hosts.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../process/run.js";
import { createLxcBackend } from "../lxc/index.js";
import { testContext, testSpec } from "../../test-support/context.js";
import { runConformance } from "./harness.js";

runConformance("lxc", {
  async skipReason() {
    const r = await run("lxc-create", ["--version"]).catch(() => undefined);
    return r?.code === 0 ? undefined : "lxc-create is not installed";
  },
  unavailable: () => ({
    // lxcpath under a file: it can never be created.
    backend: createLxcBackend(testContext("nolxc", tmpdir()), { lxcPath: "/dev/null/lxc" }),
    reason: /cannot create lxcpath \/dev\/null\/lxc/,
  }),
  async setup() {
    const root = mkdtempSync(join(tmpdir(), "corral-conf-lxc-"));
    chmodSync(root, 0o711); // containers are unprivileged: their mapped root must reach the rootfs
    const mk = (host: string) =>
      createLxcBackend(testContext(host, join(root, host)), { lxcPath: join(root, host, "lxc") });
    const source = mk(`confa${process.pid}`);
    const target = mk(`confb${process.pid}`);
    await source.probe();
    await target.probe();
    return {
      source,
      target,
      spec: (name) => testSpec("lxc", name, { template: "busybox" }),
      teardown: async () => rmSync(root, { recursive: true, force: true }),
    };
  },
});
