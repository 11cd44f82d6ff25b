// Conformance of the OpenVZ backend against the vzctl/vzlist STAND-IN (deploy/openvz-standin): no
// OpenVZ kernel can run here. Two VZ_ROOTs stand for two hosts; the template is busybox.
import { describe } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxSpec, removeStandinHost, standinHost, standinSkipReason } from "../../test-support/openvz-standin.js";
import { runConformance } from "./harness.js";
import { createOpenvzBackend } from "../openvz/index.js";
import { testContext } from "../../test-support/context.js";

describe("openvz via the vzctl/vzlist stand-in (not a real OpenVZ kernel)", () => {
  runConformance("openvz", {
  terminal: "shell",
    async skipReason() {
      return standinSkipReason();
    },
    unavailable: () => ({
      backend: createOpenvzBackend(testContext("novz", tmpdir()), { vzctl: "/nonexistent/vzctl", vzlist: "/nonexistent/vzlist" }),
      reason: /vzctl not found \(\/nonexistent\/vzctl\)/,
    }),
    async setup() {
      const root = mkdtempSync(join(tmpdir(), "corral-conf-ovz-"));
      const a = standinHost(root, `ovza${process.pid}`);
      const b = standinHost(root, `ovzb${process.pid}`);
      for (const h of [a, b]) {
        const p = await h.backend.probe();
        if (!p.available) throw new Error(`openvz stand-in unavailable: ${p.reason}`);
      }
      return {
        source: a.backend,
        target: b.backend,
        spec: (name) => busyboxSpec(name),
        teardown: async () => {
          removeStandinHost(a);
          removeStandinHost(b);
          rmSync(root, { recursive: true, force: true });
        },
      };
    },
  });
});
