// Docker create+start: Corral (controller → agent → Engine API) against the same two Engine API
// calls made directly with dockerode on that host's dockerd.
import Docker from "dockerode";
import { SOURCE, type BenchContext } from "./bench-context.js";
import { buildBusyboxRootfs } from "@corral/agent/test-support";
import { importImage } from "./image-upload.js";
import { interleave } from "./latency.js";
import type { Report } from "./report.js";
import { ms } from "./stats.js";

const IMAGE = "corral-bench-busybox:1";
const CMD = ["sleep", "1000000"];

export async function benchDockerLatency(ctx: BenchContext, report: Report): Promise<void> {
  console.log(`\n== create+start latency: docker (busybox rootfs image, cmd ${CMD.join(" ")}, on ${SOURCE}) ==`);
  const host = (await ctx.client.listHosts()).find((h) => h.name === SOURCE);
  const info = host?.backends.find((b) => b.name === "docker");
  if (!info?.available) {
    const reason = info?.reason || "not reported";
    console.log(`docker: skipped (${SOURCE} reports the docker backend unavailable: ${reason})`);
    report.skip("create+start docker", "backend unavailable on the host");
    return;
  }
  const rootfs = buildBusyboxRootfs();
  try {
    const t0 = performance.now();
    const images = await importImage(ctx, rootfs.tarball, IMAGE, "docker", [SOURCE]);
    console.log(`  corral image import ${IMAGE}: ${images.map((i) => `${i.host} ${i.id.slice(0, 19)}`).join(", ")} in ${ms(performance.now() - t0)}`);
  } finally {
    rootfs.cleanup();
  }
  const docker = new Docker({ socketPath: ctx.dockerSocket(SOURCE) });
  await interleave(
    "docker",
    {
      label: "corral client.create({image, cmd, start:true})",
      run: async (k) => {
        const t0 = performance.now();
        await ctx.create({ name: `bench-lat-dk-${k}`, backend: "docker", image: IMAGE, cmd: CMD }, SOURCE);
        return performance.now() - t0;
      },
      cleanup: (k) => ctx.remove(`bench-lat-dk-${k}`),
    },
    {
      label: "direct dockerode createContainer + start",
      run: async (k) => {
        const t0 = performance.now();
        const c = await docker.createContainer({ name: `corral-bench-direct-${k}`, Image: IMAGE, Cmd: CMD });
        await c.start();
        return performance.now() - t0;
      },
      cleanup: async (k) => void (await docker.getContainer(`corral-bench-direct-${k}`).remove({ force: true })),
    },
    ctx.opts.iterations,
    report,
  );
}
