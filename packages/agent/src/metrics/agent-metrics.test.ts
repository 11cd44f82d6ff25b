// A real agent with real LXC serves per-container metrics on --metrics-listen; scraped over HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  AgentClient,
  CONTROLLER_IDENTITY,
  createCertificateAuthority,
  issueCredentials,
  parsePrometheusText,
  sampleValue,
  writeHostCredentials,
  type ContainerRef,
  type ExecOutput,
} from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";

const root = mkdtempSync(join(tmpdir(), "corral-agent-metrics-"));
chmodSync(root, 0o711); // the LXC container is unprivileged: its mapped root must reach the rootfs
const hostName = `metrics${process.pid % 1000}`;
const ref: ContainerRef = { name: `m${process.pid % 100000}`, backend: "lxc" };
let agent: RunningAgent;
let client: AgentClient;

before(async () => {
  const cfg = parseAgentConfig([
    "--name", hostName, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1",
    "--state-dir", root, "--metrics-listen", "127.0.0.1:0",
  ]);
  const ca = await createCertificateAuthority();
  writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name: hostName }));
  agent = await startAgent(cfg, pino({ level: "silent" }), { report: false });
  client = new AgentClient(agent.address, await issueCredentials(ca, CONTROLLER_IDENTITY), { kind: "host", name: hostName });
});
after(async () => {
  await client.remove(ref).catch(() => undefined);
  client.close();
  await agent.close();
  rmSync(root, { recursive: true, force: true });
});

async function drain(it: AsyncIterable<ExecOutput>): Promise<number> {
  let code = -1;
  for await (const o of it) if (o.kind === "exit") code = o.code;
  return code;
}

async function scrape() {
  const res = await fetch(agent.metricsUrl as string);
  assert.equal(res.status, 200);
  return parsePrometheusText(await res.text());
}

test("a running LXC container's CPU seconds, memory, pids and block bytes are scraped; a stopped one drops out", async () => {
  assert.match(agent.metricsUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  await client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await client.start(ref);
  // Burn some CPU and write some bytes so the counters have something to count.
  assert.equal(await drain(client.exec({ ref, argv: ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/root/f bs=64k count=64 conv=fsync 2>/dev/null"], env: [] })), 0);

  const { samples, types } = await scrape();
  const labels = { container: ref.name, backend: "lxc", host: hostName };
  const v = (name: string) => sampleValue(samples, name, labels);
  assert.ok((v("corral_container_cpu_usage_seconds_total") ?? 0) > 0.01, `cpu ${v("corral_container_cpu_usage_seconds_total")}`);
  assert.ok((v("corral_container_memory_usage_bytes") ?? 0) > 0);
  assert.equal(v("corral_container_memory_limit_bytes"), 64 << 20);
  assert.ok((v("corral_container_pids") ?? 0) >= 1);
  for (const n of ["corral_container_network_receive_bytes_total", "corral_container_network_transmit_bytes_total", "corral_container_blkio_read_bytes_total", "corral_container_blkio_write_bytes_total"]) {
    assert.notEqual(v(n), undefined, `${n} is served`);
    assert.equal(types.get(n), "counter");
  }
  assert.equal(types.get("corral_container_cpu_usage_seconds_total"), "counter");
  assert.equal(types.get("corral_container_memory_usage_bytes"), "gauge");
  assert.ok((sampleValue(samples, "corral_containers") ?? 0) >= 1);

  await client.stop(ref, 5);
  const after = await scrape();
  assert.equal(sampleValue(after.samples, "corral_container_memory_usage_bytes", labels), undefined, "a stopped container has no series");
});

test("a bad --metrics-listen is refused with the expected form", () => {
  assert.throws(
    () => parseAgentConfig(["--name", "h", "--listen", "127.0.0.1:0", "--controller", "x:1", "--state-dir", root, "--metrics-listen", "9400"]),
    { message: 'invalid --metrics-listen "9400": expected HOST:PORT such as 127.0.0.1:9400' },
  );
});
