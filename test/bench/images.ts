// Debian system images (issue 10, "Measure"): the time to build the Debian image and the Docker-ready
// image, and the create+start latency of a Debian system container up to systemd's
// multi-user.target through Corral's LXC and LXD backends, against the runtime called directly in
// the same run (lxc-start on a rootfs extracted the same way; LXD's REST calls that `lxc launch`
// makes), interleaved, median of N.
// Run: npm run bench:images [-- iterations]. Builds are cold only with BENCH_COLD=1 (a temporary
// cache directory, both images built once; kept under coldBuilds, which a warm run leaves alone);
// otherwise the cached builds' recorded figures are shown. 0 iterations measures the builds only.
import { chmodSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDebianImage, cacheKey, DEFAULT_CACHE, type DebianImageInputs } from "@corral/cli";
import { createLxcBackend, createLxdBackend, ensureLxd, testContext, testSpec, type LxcBackend, type LxdBackend } from "@corral/agent/test-support";
import { mergeResults } from "./bench-results.js";
import { LxdRest } from "./lxd-rest.js";
import { bash } from "./shell.js";
import { median, ms } from "./stats.js";

const n = Number(process.argv[2] ?? 2);
const MIRROR = "http://deb.debian.org/debian";
const DEBIAN: DebianImageInputs = { release: "bookworm", packages: [], mirror: MIRROR };
const DOCKER: DebianImageInputs = { release: "bookworm", packages: ["docker.io"], mirror: MIRROR };

// ---- build times ----
const builds: Record<string, unknown> = {};
if (process.env.BENCH_COLD === "1") {
  const cache = mkdtempSync(join(tmpdir(), "corral-bench-images-"));
  try {
    for (const [label, inputs] of [["debian", DEBIAN], ["debianDocker", DOCKER]] as const) {
      const b = await buildDebianImage(inputs, { cacheDir: cache });
      builds[label] = { coldBuildSeconds: +b.buildSeconds.toFixed(1), sizeBytes: b.sizeBytes };
      console.log(`build ${label}: ${b.buildSeconds.toFixed(1)} s cold, ${(b.sizeBytes / 1048576).toFixed(0)} MiB`);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
} else {
  for (const [label, inputs] of [["debian", DEBIAN], ["debianDocker", DOCKER]] as const) {
    const info = join(DEFAULT_CACHE, cacheKey(inputs), "image.json");
    const m = existsSync(info) ? (JSON.parse(readFileSync(info, "utf8")) as { zstd?: { sizeBytes: number }; buildSeconds?: number }) : undefined;
    builds[label] = m ? { cached: true, recordedBuildSeconds: m.buildSeconds ?? null, sizeBytes: m.zstd?.sizeBytes ?? null } : { cached: false };
    console.log(`build ${label}: ${m ? `cached (${m.buildSeconds === undefined ? "build time not recorded by that build" : `${m.buildSeconds} s when built`})` : "not cached (BENCH_COLD=1 builds it)"}`);
  }
}

const buildKey = process.env.BENCH_COLD === "1" ? "coldBuilds" : "cachedBuilds";
if (n === 0) {
  mergeResults("images", { [buildKey]: builds });
  process.exit(0);
}

// ---- create+start to multi-user.target ----
// The image a latency run boots: the plain Debian image when cached, else the Docker-ready one
// (never a cold build here: that is BENCH_COLD's).
const bootInputs = existsSync(join(DEFAULT_CACHE, cacheKey(DEBIAN), "image.json")) ? DEBIAN : DOCKER;
const image = await buildDebianImage(bootInputs, {});
const imageLabel = bootInputs.packages.length ? "debian+docker.io" : "debian";
console.log(`\nboot image: ${imageLabel} (${(image.sizeBytes / 1048576).toFixed(0)} MiB); ${n} interleaved runs each`);

const root = mkdtempSync(join(tmpdir(), "corral-bench-images-"));
// Both unprivileged containers' mapped root must pass through it to their rootfs (search only).
chmodSync(root, 0o711);
const host = `bimg${process.pid % 100000}`;
const ctx = testContext(host, root);
const POLL = `for i in $(seq 1 1200); do "$@" systemctl is-active --quiet multi-user.target 2>/dev/null && exit 0; sleep 0.1; done; exit 1`;
const upTo = async (what: string, argv: string[]) => {
  const r = await bash(POLL, argv, 180_000).catch((e: Error) => e);
  if (r instanceof Error) throw new Error(`${what} never reached multi-user.target: ${r.message}`);
};

const lxc = createLxcBackend(ctx) as LxcBackend;
await lxc.importImage("bench-debian", createReadStream(image.file));
const lxcPath = join(root, "lxc");
const directPath = join(root, "direct");
// What Corral's LXC backend does for an image's unprivileged container, by hand: a rootfs extracted
// (the built image is a zstd tarball)
// in the user namespace, the stock common.conf, the id map, no network, systemd halted by SIGRTMIN+3.
const DIRECT_LXC = `set -e
P=$1; N=$2; IMG=$3
read -r base count <<<"$(awk -F: '$1=="root"{print $2, $3; exit}' /etc/subuid)"
mkdir -p "$P/$N/rootfs"; chmod 0711 "$P"; chmod 0711 "$P/$N"; chown "$base:$base" "$P/$N/rootfs"
cd "$P/$N/rootfs" && lxc-usernsexec -m "u:0:$base:$count" -m "g:0:$base:$count" -- tar --zstd --numeric-owner --xattrs --xattrs-include='*' -xpf - --exclude='./dev/*' < "$IMG"
cat > "$P/$N/config" <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.arch = x86_64
lxc.rootfs.path = dir:$P/$N/rootfs
lxc.uts.name = $N
lxc.signal.halt = SIGRTMIN+3
lxc.idmap = u 0 $base $count
lxc.idmap = g 0 $base $count
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
EOF
lxc-start -P "$P" -n "$N" -d`;

const results: Record<string, { corral: number[]; direct: number[] }> = { lxc: { corral: [], direct: [] }, lxd: { corral: [], direct: [] } };
for (let i = 0; i < n; i++) {
  let t = performance.now();
  await lxc.create(testSpec("lxc", `c${i}`, { image: "bench-debian" }));
  await lxc.start(`c${i}`);
  await upTo(`corral lxc c${i}`, ["lxc-attach", "-P", lxcPath, "-n", `c${i}`, "--"]);
  results.lxc!.corral.push(performance.now() - t);
  await lxc.stop(`c${i}`, 10);
  await lxc.remove(`c${i}`);
  t = performance.now();
  await bash(DIRECT_LXC, [directPath, `d${i}`, image.file], 900_000);
  await upTo(`direct lxc d${i}`, ["lxc-attach", "-P", directPath, "-n", `d${i}`, "--"]);
  results.lxc!.direct.push(performance.now() - t);
  await bash(`lxc-stop -P "$1" -n "$2" -k >/dev/null 2>&1 || true; lxc-destroy -P "$1" -n "$2" >/dev/null`, [directPath, `d${i}`]);
}

const lxdReason = await ensureLxd();
if (!lxdReason) {
  const lxd = createLxdBackend(ctx) as LxdBackend;
  const direct = new LxdRest();
  const img = await lxd.importImage("bench-debian", createReadStream(image.file));
  const alias = `${host}-bench-debian`;
  try {
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await lxd.create(testSpec("lxd", `c${i}`, { image: "bench-debian" }));
      await lxd.start(`c${i}`);
      await upTo(`corral lxd c${i}`, ["lxc", "exec", `${host}-c${i}`, "--"]);
      results.lxd!.corral.push(performance.now() - t);
      await lxd.stop(`c${i}`, 0).catch(() => undefined);
      await lxd.remove(`c${i}`);
      // `lxc launch ALIAS NAME`: the same two REST calls, each waited on.
      const rt = `${host}-d${i}`;
      t = performance.now();
      await direct.call("POST", "/1.0/instances", { name: rt, type: "container", source: { type: "image", alias } });
      await direct.call("PUT", `/1.0/instances/${rt}/state`, { action: "start" });
      await upTo(`direct lxd ${rt}`, ["lxc", "exec", rt, "--"]);
      results.lxd!.direct.push(performance.now() - t);
      await direct.call("PUT", `/1.0/instances/${rt}/state`, { action: "stop", force: true });
      await direct.call("DELETE", `/1.0/instances/${rt}`);
    }
  } finally {
    await direct.call("DELETE", `/1.0/images/${img.id.replace(/^sha256:/, "")}`).catch(() => undefined);
    lxd.close();
    direct.close();
  }
} else console.log(`lxd: skipped (${lxdReason})`);
rmSync(root, { recursive: true, force: true });

const figures: Record<string, unknown> = { [buildKey]: builds, bootImage: imageLabel, iterations: n };
for (const [b, r] of Object.entries(results)) {
  if (!r.corral.length) continue;
  const c = median(r.corral);
  const d = median(r.direct);
  console.log(`${b}: create+start to multi-user.target  corral ${ms(c)}  direct ${ms(d)}  (×${(c / d).toFixed(2)})`);
  figures[`${b}CreateStartToMultiUser`] = { corralMedianMs: +c.toFixed(0), directMedianMs: +d.toFixed(0), ratio: +(c / d).toFixed(3), corral: r.corral.map((x) => +x.toFixed(0)), direct: r.direct.map((x) => +x.toFixed(0)) };
}
mergeResults("images", figures);
