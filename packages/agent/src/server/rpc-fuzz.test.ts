// Bounded, seeded fuzz of every AgentService method over real gRPC on loopback: random bytes and
// mutations of valid requests. The agent must answer every call (any status), never hang, never
// crash (an unhandled rejection or exception fails this test), and still serve afterwards.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  AgentClient,
  AgentServiceDefinition,
  CONTROLLER_IDENTITY,
  clientCredentials,
  createCertificateAuthority,
  fuzzService,
  issueCredentials,
  writeHostCredentials,
  type TlsCredentials,
} from "@corral/wire";
import { startAgent, type RunningAgent } from "../agent.js";
import { parseAgentConfig } from "../config.js";

const root = mkdtempSync(join(tmpdir(), "corral-fuzz-"));
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
let agent: RunningAgent;
/** The fuzz speaks as the controller: past the handshake and the access check, into the handlers. */
let controller: TlsCredentials;

before(async () => {
  process.on("unhandledRejection", onCrash);
  process.on("uncaughtException", onCrash);
  const cfg = parseAgentConfig(["--name", "fuzzhost", "--listen", "127.0.0.1:0", "--controller", "127.0.0.1:1", "--state-dir", join(root, "state")]);
  const ca = await createCertificateAuthority();
  controller = await issueCredentials(ca, CONTROLLER_IDENTITY);
  writeHostCredentials(cfg.stateDir, await issueCredentials(ca, { kind: "host", name: "fuzzhost" }));
  agent = await startAgent(cfg, pino({ level: "silent" }), { report: false });
});

after(async () => {
  await agent.close();
  for (const b of agent.registry.available()) (b as { close?: () => void }).close?.();
  process.off("unhandledRejection", onCrash);
  process.off("uncaughtException", onCrash);
  rmSync(root, { recursive: true, force: true });
});

// Valid requests to mutate; none of them can create or run anything (no such containers here).
const msg = (method: keyof typeof AgentServiceDefinition, fields: Record<string, unknown>) => ({
  ...(AgentServiceDefinition[method].requestDeserialize(Buffer.alloc(0)) as object),
  ...fields,
});
const ref = { name: "nosuch", backend: "lxc" };
const token = "ab".repeat(32);
const SEEDS: Record<string, unknown[]> = {
  getHostInfo: [msg("getHostInfo", {})],
  inspectContainer: [msg("inspectContainer", ref)],
  startContainer: [msg("startContainer", ref)],
  stopContainer: [msg("stopContainer", { ref, timeoutSeconds: 1 })],
  setLimits: [msg("setLimits", { ref, limits: { memoryBytes: 1 << 26, cpus: 1 } })],
  prepareReceive: [msg("prepareReceive", { token, ref, compression: "none", expectedBytes: 1000, migrationId: "m-1", sourceHost: "a", targetHost: "b" })],
  receiveArchive: [msg("receiveArchive", { kind: { $case: "header", value: { token, ref, compression: "none", totalBytes: 1, sourceHost: "a", archiveFormat: "lxc-dir-tar/1" } } })],
  commitReceive: [msg("commitReceive", { token })],
  abortReceive: [msg("abortReceive", { token, ref })],
  sendArchive: [msg("sendArchive", { ref, targetAddress: "127.0.0.1:1", token, compression: "none" })],
};

test("random and mutated bytes to every agent method: no crash, no hang, still serving", async () => {
  const credentials = clientCredentials(controller, { kind: "host", name: "fuzzhost" });
  const report = await fuzzService(agent.address, AgentServiceDefinition, { seed: 7, iterations: 40, seeds: SEEDS, deadlineMs: 3000, credentials });
  // Undecodable frames are refused by grpc-js itself (INTERNAL); decodable nonsense by our checks.
  assert.ok((report.codes[3] ?? 0) > 0, "some inputs reach the agent's own checks");
  assert.deepEqual(report.hangs, []);
  assert.ok(report.calls >= 40 * Object.keys(AgentServiceDefinition).length);
  assert.deepEqual(crashes, []);
  const c = new AgentClient(agent.address, controller, { kind: "host", name: "fuzzhost" });
  try {
    assert.equal((await c.hostInfo()).name, "fuzzhost");
  } finally {
    c.close();
  }
});
