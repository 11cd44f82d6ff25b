// --bwlimit on the real sender: two real agents (loopback gRPC, real LXC under two lxcpaths).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AgentClient, type ContainerRef, type ExecOutput } from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";

const log = pino({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "corral-bwlimit-"));
const hosts: { agent: RunningAgent; client: AgentClient }[] = [];
const ref: ContainerRef = { name: "paced", backend: "lxc" };

async function drain(it: AsyncIterable<ExecOutput>): Promise<number> {
  let code = -1;
  for await (const o of it) if (o.kind === "exit") code = o.code;
  return code;
}

before(async () => {
  for (const h of ["bwa", "bwb"]) {
    const cfg = parseAgentConfig(["--name", `${h}${process.pid % 1000}`, "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, h)]);
    const agent = await startAgent(cfg, log, { report: false });
    hosts.push({ agent, client: new AgentClient(agent.address) });
  }
});

after(async () => {
  for (const h of hosts) {
    await h.client.remove(ref).catch(() => undefined);
    h.client.close();
    await h.agent.close();
  }
  rmSync(root, { recursive: true, force: true });
});

test("a send capped by bwlimit takes at least bytes / limit and arrives whole", async () => {
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  await a.client.create({ name: ref.name, backend: "lxc", template: "busybox", image: "", limits: { memoryBytes: 64 << 20, cpus: 1 }, env: [], cmd: [], ports: [], labels: {} });
  await a.client.start(ref);
  assert.equal(await drain(a.client.exec({ ref, argv: ["sh", "-c", "head -c 6000000 /dev/urandom > /root/blob"], env: [] })), 0);
  await a.client.stop(ref, 10);
  const token = randomBytes(32).toString("hex");
  await b.client.prepareReceive({ token, ref, compression: "none", expectedBytes: 0 });
  const limit = 2 * 1024 * 1024;
  const t0 = Date.now();
  let last;
  for await (const p of a.client.sendArchive({ ref, targetAddress: b.agent.address, token, compression: "none", bwlimitBytesPerSecond: limit })) last = p;
  const took = Date.now() - t0;
  assert.ok(last?.done, "the send finished");
  // The first chunk (1 MiB) leaves at once and the last goes right after the one before it.
  assert.ok(took >= ((last.bytes - 2 * 1024 * 1024) * 1000) / limit, `${last.bytes} bytes took ${took} ms at ${limit} B/s`);
  assert.equal((await b.client.commitReceive(token)).state, "stopped");
});
