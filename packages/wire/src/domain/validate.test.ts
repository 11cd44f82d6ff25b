import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, parseCpus, parseSize, validateBackendLimits, validateName } from "./validate.js";

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
