import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, parseCpus, parseSize, validateBackendLimits, validateName } from "./validate.js";
import { mergeLimits } from "./types.js";

test("sizes in the units operators type", () => {
  assert.equal(parseSize("memory", "256M"), 256 * 1024 ** 2);
  assert.equal(parseSize("memory", "1G"), 1024 ** 3);
  assert.equal(parseSize("memory", "512MiB"), 512 * 1024 ** 2);
  assert.equal(parseSize("memory", "1.5GB"), 1.5e9);
  assert.equal(parseSize("memory", "1048576"), 1048576);
});

test("a bad size says what was expected", () => {
  for (const bad of ["lots", "", "-1M", "0", "12Q", "1.2.3G"]) {
    assert.throws(() => parseSize("memory", bad), (e: Error & { code?: string }) => {
      assert.equal(e.code, "invalid_argument");
      assert.match(e.message, /^invalid memory ".*": /);
      return true;
    });
  }
});

test("names: lowercase DNS-label style only", () => {
  assert.equal(validateName("container", "web-1"), "web-1");
  for (const bad of ["Web", "-a", "a-", "a_b", "a/b", "..", "", "a".repeat(64)]) {
    assert.throws(() => validateName("container", bad), /invalid container name/);
  }
});

test("cpus are positive numbers", () => {
  assert.equal(parseCpus("0.5"), 0.5);
  assert.throws(() => parseCpus("two"), /invalid cpus "two"/);
  assert.throws(() => parseCpus("0"), /invalid cpus/);
});

test("bytes print in binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(200 * 1024 ** 2), "200 MiB");
});

test("a size without a unit is refused with a hint when a unit is required", () => {
  assert.throws(() => parseSize("memory", "256", { requireUnit: true }), {
    code: "invalid_argument",
    message: 'invalid memory "256": a size needs a unit; did you mean 256M?',
  });
  assert.throws(() => parseSize("memory", "0", { requireUnit: true }), /must be positive/);
  assert.equal(parseSize("memory", "256M", { requireUnit: true }), 256 * 1024 ** 2);
  assert.equal(parseSize("memory", "256"), 256, "runtimes' plain byte counts still parse");
});

test("a memory limit below the runtime's minimum is refused with the floor named; 0 (no limit) is not", () => {
  assert.throws(
    () => validateBackendLimits("docker", { memoryBytes: 4 * 1024 ** 2, cpus: 0 }),
    (e: Error & { code?: string }) => e.code === "invalid_argument" && e.message === "memory limit 4.0 MiB is below docker's minimum of 6.0 MiB",
  );
  validateBackendLimits("docker", { memoryBytes: 6 * 1024 ** 2, cpus: 0 });
  validateBackendLimits("docker", { memoryBytes: 0, cpus: 0 });
  validateBackendLimits("lxc", { memoryBytes: 4 * 1024 ** 2, cpus: 0 });
});

test("the later limits: each runtime's refusals name the reason, before anything changes", () => {
  const MiB = 1024 * 1024;
  const base = { memoryBytes: 64 * MiB, cpus: 1 };
  assert.throws(() => validateBackendLimits("lxc", { memoryBytes: 0, cpus: 1, swapBytes: MiB }), /a swap limit needs a memory limit/);
  assert.throws(() => validateBackendLimits("lxc", { ...base, cpuShares: 1 }), /below the minimum of 2/);
  assert.throws(() => validateBackendLimits("openvz", { ...base, cpuShares: 4 }), /below openvz's minimum of 8/);
  assert.throws(() => validateBackendLimits("docker", { ...base, diskBytes: 1024 * MiB }), /docker has no disk quota on overlay2/);
  assert.throws(() => validateBackendLimits("lxc", { ...base, diskBytes: 1024 * MiB }), /plain directory, which has no quota/);
  assert.throws(() => validateBackendLimits("openvz", { ...base, diskBytes: MiB }), /below the minimum of 16\.0 MiB/);
  assert.throws(() => validateBackendLimits("lxd", { ...base, swapBytes: MiB }), /only turns swap on or off/);
  assert.throws(() => validateBackendLimits("lxd", { ...base, cpus: 0.5, cpuShares: 512 }), /limits\.cpu\.allowance/);
  assert.throws(() => validateBackendLimits("lxc", { ...base, pidsMax: 1.5 }), /invalid pids limit 1\.5/);
  for (const b of ["lxc", "docker", "lxd", "openvz"] as const) validateBackendLimits(b, { ...base, cpuShares: 512, pidsMax: 100 });
  validateBackendLimits("openvz", { ...base, swapBytes: MiB, diskBytes: 1024 * MiB });
  validateBackendLimits("lxd", { ...base, diskBytes: 1024 * MiB });
});

test("mergeLimits keeps what a patch leaves out and drops a limit set to 0", () => {
  const cur = { memoryBytes: 64, cpus: 1, pidsMax: 100, cpuShares: 512 };
  assert.deepEqual(mergeLimits(cur, { pidsMax: 0, swapBytes: 8 }), { memoryBytes: 64, cpus: 1, swapBytes: 8, cpuShares: 512 });
  assert.deepEqual(mergeLimits(cur, {}), cur);
});
