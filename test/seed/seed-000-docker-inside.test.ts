// Seed 000 end to end, through the CLI: a Debian system image with Docker built by debootstrap
// (cached between runs, by its inputs, outside the clone), and on LXC and on LXD a system container
// made from it with --nesting, in which dockerd runs; inside it two app containers from images made locally (no registry: `docker import` of a
// busybox rootfs), one linked to the other as the seed's hello-world app and web. The web answers
// on port 80 of the system container, at the address Corral reports (ct show --json ipv4) from
// another host of the cluster when the cluster network gives one; then dockerhost is migrated to the other host and
// the web answers again from its new host, with the inner containers' state intact.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TestCluster, eventually } from "../support/cluster.js";

const run = promisify(execFile);
const cluster = new TestCluster({ hosts: 2, slot: 20 });
const IMAGE = "debian-docker";
const BACKENDS = ["lxc", "lxd"] as const;

// Where the seed's time goes: each CLI call's seconds, printed as a TAP comment.
const T0 = Date.now();
const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  try {
    return await f();
  } finally {
    console.error(`# [${((t - T0) / 1000).toFixed(1)}s] ${((Date.now() - t) / 1000).toFixed(1)}s ${what.slice(0, 80)}`);
  }
};
const ok = async (args: string[], timeoutMs = 300_000) => {
  const r = await timed(args.join(" "), () => cluster.cli(args, { timeoutMs }));
  assert.equal(r.code, 0, `corral ${args.join(" ")}: ${r.stderr}`);
  return r;
};
/** A shell command inside the system container, through `corral ct exec`. */
const inside = (ct: string, script: string) => timed(`${ct}: ${script.split("\n")[0]}`, () => cluster.cli(["ct", "exec", ct, "--", "sh", "-c", script], { timeoutMs: 120_000 }));

before(async () => {
  await timed("cluster up", () => cluster.up());
});
after(async () => {
  // Both at once (deleting a rootfs with Docker's layers in it takes a while), then the cluster.
  await timed("ct rm --force (both)", () => Promise.all(BACKENDS.map((b) => cluster.cli(["ct", "rm", "--force", `dockerhost-${b}`]))));
  await timed("cluster down", () => cluster.down());
});

// The seed's two images, made inside dockerhost from its own busybox: hello serves "Hello World!"
// on 5000; web, linked to it as helloapp, answers on 80 with what the linked container said.
const MAKE_IMAGES = `set -e
rm -rf /tmp/img && mkdir -p /tmp/img/bin /tmp/img/www /tmp/img/data
cp /bin/busybox /tmp/img/bin/ && for a in sh httpd nc cat printf tail sleep echo; do ln -sf busybox /tmp/img/bin/$a; done
echo 'Hello World!' > /tmp/img/www/index.html
tar -C /tmp/img -c . | docker import - corral/hello-world-app:1 >/dev/null
tar -C /tmp/img -c . | docker import - corral/hello-world-web:1 >/dev/null
docker images --format '{{.Repository}}' | sort`;
const WEB_LOOP =
  `while true; do said=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc helloapp 5000 | tail -n 1); ` +
  `printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nThe linked container said... "%s"\\n' "$said" | nc -l -p 5000; done`;
// Both run as PID 1 with no SIGTERM handler (busybox httpd, sh), which the kernel never kills with
// SIGTERM: --stop-timeout 1 spares each stop of dockerhost (migration, rm) Docker's 10 s wait.
const RUN_APPS = `set -e
docker run --detach --restart unless-stopped --stop-timeout 1 --name app -v appdata:/data corral/hello-world-app:1 httpd -f -p 5000 -h /www >/dev/null
docker run --detach --restart unless-stopped --stop-timeout 1 --name web --link app:helloapp -p 80:5000 corral/hello-world-web:1 sh -c '${WEB_LOOP.replace(/'/g, "'\\''")}' >/dev/null
docker exec app sh -c 'echo kept-across-hosts > /data/state'
docker ps --format '{{.Names}}' | sort`;
const EXPECTED = 'The linked container said... "Hello World!"';

async function webAnswers(CT: string, where: string): Promise<void> {
  const shown = await cluster.json<{ host: string; ipv4?: string[] }>(["ct", "show", CT]);
  // Inside the system container, at its port 80 (docker's own publishing).
  await eventually(`web answers inside ${CT} on ${where}`, async () => {
    const r = await inside(CT, "curl -s --max-time 5 http://127.0.0.1:80/");
    return r.code === 0 && r.stdout.includes(EXPECTED);
  }, 60_000);
  // From another host of the cluster, at the address Corral reports (the cluster network's).
  const address = shown.ipv4?.[0];
  assert.ok(address, `${CT} has an address on the cluster network`);
  const peer = shown.host === "host1" ? "2" : "1";
  const ns = `${cluster.env.CORRAL_NS_PREFIX}${peer}`;
  await eventually(`web answers at ${address}:80 from host${peer}`, async () => {
    const r = await run("ip", ["netns", "exec", ns, "curl", "-s", "--max-time", "5", `http://${address}:80/`]).catch(() => undefined);
    return !!r && r.stdout.includes(EXPECTED);
  }, 60_000);
}

// The LXC half starts on host2, which lacks the image (it was sent to host1 only) and gets it on first
// use; the LXD half starts on host1. Each then migrates to the other host.
const START = { lxc: "host2", lxd: "host1" } as const;
const other = (host: string) => (host === "host1" ? "host2" : "host1");

describe("seed 000: Docker inside a system container (LXC and LXD), migrated", () => {
  let sha256 = "";
  test("image build debian with docker.io goes to host1's LXC and LXD, checked by SHA-256", { timeout: 1_800_000 }, async () => {
    const first = await timed("image build", () => cluster.cli(["image", "build", "debian", "--release", "bookworm", "--packages", "docker.io,busybox-static", "--name", IMAGE, "--host", "host1", "--json"], { timeoutMs: 1_800_000 }));
    assert.equal(first.code, 0, first.stderr);
    const built = JSON.parse(first.stdout) as { sha256: string; cached: boolean; images: { host: string; backend: string; id: string }[] };
    assert.match(built.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(built.images.map((i) => `${i.host}/${i.backend}`).sort(), ["host1/lxc", "host1/lxd"]);
    // The LXC host holds the very bytes built (its SHA-256 is computed as they arrive).
    assert.equal(built.images.find((x) => x.backend === "lxc")?.id, `sha256:${built.sha256}`);
    sha256 = built.sha256;
    console.error(`# ${IMAGE}: ${built.cached ? "from the cache" : "built"}`);
  });

  // The LXC and the LXD system container go through their steps at the same time: most of each
  // step is waiting (systemd, dockerd, a stop, a copy), and they share nothing but the two hosts.
  describe("on LXC and LXD at once", { concurrency: true }, () => {
    for (const backend of BACKENDS) {
      // Its own steps in order (a suite inherits its parent's concurrency otherwise).
      describe(backend, { concurrency: false }, () => {
        const CT = `dockerhost-${backend}`;
        const from = START[backend];
        const to = other(from);
        test(`${backend}: ${CT} on ${from} runs dockerd; two linked app containers made locally serve the web`, { timeout: 900_000 }, async () => {
          await ok(["ct", "create", CT, "--backend", backend, "--image", IMAGE, "--nesting", "--host", from, "--memory", "1G", "--cpus", "1"]);
          if (from === "host2") {
            // host2 lacked the image: the create got it from the controller first, checked by its SHA-256.
            const list = await cluster.json<{ name: string; copies: { host: string; backend: string; id: string }[] }[]>(["image", "list"]);
            const copies = list.find((i) => i.name === IMAGE)?.copies.filter((c) => c.backend === backend).map((c) => `${c.host} ${c.id}`).sort();
            assert.deepEqual(copies, [`host1 sha256:${sha256}`, `host2 sha256:${sha256}`]);
          }
          const shown = await ok(["ct", "show", CT]);
          assert.match(shown.stdout, /Privileged:\s+no/);
          assert.match(shown.stdout, /Nesting:\s+yes/);
          await eventually(`dockerd inside ${CT}`, async () => (await inside(CT, "docker info >/dev/null 2>&1")).code === 0, 180_000);
          const images = await inside(CT, MAKE_IMAGES);
          assert.equal(images.code, 0, images.stderr);
          assert.equal(images.stdout, "corral/hello-world-app\ncorral/hello-world-web\n");
          const apps = await inside(CT, RUN_APPS);
          assert.equal(apps.code, 0, apps.stderr);
          assert.equal(apps.stdout, "app\nweb\n");
          await webAnswers(CT, from);
        });

        test(`${backend}: ${CT} migrates to ${to}; the web answers from the new host with the inner state intact`, { timeout: 900_000 }, async () => {
          const m = await ok(["ct", "migrate", CT, "--to", to], 900_000);
          assert.match(m.stdout + m.stderr, new RegExp(`${CT} migrated ${from} → ${to}`));
          console.error(m.stdout.trim().replace(/^/gm, "# "));
          const shown = await cluster.json<{ host: string; state: string }>(["ct", "show", CT]);
          assert.deepEqual([shown.host, shown.state], [to, "running"]);
          await eventually(`dockerd inside ${CT} on ${to}`, async () => (await inside(CT, "docker info >/dev/null 2>&1")).code === 0, 180_000);
          await eventually("both app containers restarted", async () => (await inside(CT, "docker ps --format '{{.Names}}' | sort")).stdout === "app\nweb\n", 120_000);
          const state = await inside(CT, "docker exec app cat /data/state");
          assert.equal(state.stdout, "kept-across-hosts\n");
          await webAnswers(CT, to);
        });
      });
    }
  });
});
