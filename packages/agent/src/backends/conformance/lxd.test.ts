// Conformance of the LXD backend against a real LXD daemon (started and preseeded if it is not
// running). Two backend instances with different host names share that one daemon as two hosts.
import { buildBusyboxRootfs } from "../../test-support/busybox-rootfs.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLxdBackend, type LxdBackend } from "../lxd/index.js";
import { ensureLxd, tarballStream } from "../../test-support/lxd.js";
import { testContext, testSpec } from "../../test-support/context.js";
import { runConformance } from "./harness.js";

// Its own image name, so its fingerprint differs from other test files' imports run in parallel.
const IMAGE = "busybox-conformance";

runConformance("lxd", {
  skipReason: () => ensureLxd(),
  unavailable: () => ({
    backend: createLxdBackend(testContext("nolxd", tmpdir()), { socketPath: "/nonexistent/lxd.sock" }),
    reason: /LXD socket \/nonexistent\/lxd.sock not found/,
  }),
  async setup() {
    const root = mkdtempSync(join(tmpdir(), "corral-conf-lxd-"));
    const mk = (host: string) => createLxdBackend(testContext(host, join(root, host))) as LxdBackend;
    const source = mk(`confa${process.pid}`);
    const target = mk(`confb${process.pid}`);
    for (const b of [source, target]) {
      const p = await b.probe();
      if (!p.available) throw new Error(p.reason);
    }
    const rootfs = buildBusyboxRootfs({ bootable: true, gzip: true });
    const fingerprints = new Set<string>();
    for (const b of [source, target]) fingerprints.add((await b.importImage(IMAGE, tarballStream(rootfs.tarball))).id);
    return {
      source,
      target,
      spec: (name) => testSpec("lxd", name, { image: IMAGE }),
      teardown: async () => {
        for (const fp of fingerprints) await source.client.call("DELETE", `/1.0/images/${fp}`).catch(() => undefined);
        source.close();
        target.close();
        rootfs.cleanup();
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
});
