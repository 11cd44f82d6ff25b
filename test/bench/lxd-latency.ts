// LXD create+start: Corral (controller → agent → LXD REST) against the same REST calls made
// directly over LXD's socket (POST /1.0/instances, PUT …/state start, each operation waited on).
import { SOURCE, type BenchContext } from "./bench-context.js";
import { buildBusyboxRootfs } from "@corral/agent/test-support";
import { importImage } from "./image-upload.js";
import { interleave } from "./latency.js";
import { LxdRest } from "./lxd-rest.js";
import type { Report } from "./report.js";
import { ms } from "./stats.js";

const IMAGE = "corral-bench-lxd";
const direct = (k: number) => `corral-bench-lxd-d${k}`;

export async function benchLxdLatency(ctx: BenchContext, report: Report): Promise<void> {
  console.log(`\n== create+start latency: lxd (bootable busybox rootfs, on ${SOURCE}) ==`);
  const lxd = new LxdRest();
  try {
    const down = await lxd.unavailableReason();
    const info = (await ctx.client.listHosts()).find((h) => h.name === SOURCE)?.backends.find((b) => b.name === "lxd");
    const reason = down ?? (info?.available ? undefined : `${SOURCE} reports the lxd backend unavailable: ${info?.reason || "not reported"}`);
    if (reason) {
      console.log(`lxd: skipped (${reason})`);
      report.skip("create+start lxd", down ? "LXD not running" : "backend unavailable on the host");
      return;
    }
    const rootfs = buildBusyboxRootfs({ bootable: true });
    let fingerprint: string;
    try {
      const t0 = performance.now();
      const [image] = await importImage(ctx, rootfs.tarball, IMAGE, "lxd", [SOURCE]);
      if (!image) throw new Error(`corral image import ${IMAGE} returned no image for ${SOURCE}`);
      fingerprint = image.id;
      console.log(`  corral image import ${IMAGE} (backend lxd): ${image.host} ${fingerprint.slice(0, 12)} in ${ms(performance.now() - t0)}`);
    } finally {
      rootfs.cleanup();
    }
    ctx.defer(`LXD image ${fingerprint.slice(0, 12)}`, () => withLxd((c) => c.call("DELETE", `/1.0/images/${fingerprint}`)));
    await interleave(
      "lxd",
      {
        label: "corral client.create({backend lxd, image, start:true})",
        run: async (k) => {
          const t0 = performance.now();
          await ctx.create({ name: `bench-lat-lxd-${k}`, backend: "lxd", image: IMAGE }, SOURCE);
          return performance.now() - t0;
        },
        cleanup: (k) => ctx.remove(`bench-lat-lxd-${k}`),
      },
      {
        label: "direct REST POST /1.0/instances + PUT state start",
        run: async (k) => {
          ctx.defer(`LXD instance ${direct(k)}`, () => withLxd((c) => removeInstance(c, direct(k))).catch(() => undefined));
          const t0 = performance.now();
          await lxd.call("POST", "/1.0/instances", { name: direct(k), type: "container", source: { type: "image", fingerprint }, profiles: ["default"] });
          await lxd.call("PUT", `/1.0/instances/${direct(k)}/state`, { action: "start" });
          return performance.now() - t0;
        },
        cleanup: (k) => removeInstance(lxd, direct(k)),
      },
      ctx.opts.iterations,
      report,
    );
  } finally {
    lxd.close();
  }
}

async function removeInstance(lxd: LxdRest, name: string): Promise<void> {
  await lxd.call("PUT", `/1.0/instances/${name}/state`, { action: "stop", force: true }).catch(() => undefined);
  await lxd.call("DELETE", `/1.0/instances/${name}`);
}

async function withLxd<T>(fn: (c: LxdRest) => Promise<T>): Promise<T> {
  const c = new LxdRest();
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
