import { test } from "node:test";
import assert from "node:assert/strict";
import { colourise, formatTable } from "./table.js";
import { CONTAINER_HEADERS, HOST_HEADERS, containerRow, hostJson, hostRow } from "./present.js";
import { sampleContainer, sampleHost } from "./test-support/controller-double.js";

test("columns are aligned with two spaces, numbers can be right-aligned, and no line has trailing spaces", () => {
  const lines = formatTable(["NAME", "CPUS", "STATE"], [["web", "2", "running"], ["database-1", "16", "stopped"]], {
    align: ["left", "right", "left"],
  });
  assert.deepEqual(lines, [
    "NAME        CPUS  STATE",
    "web            2  running",
    "database-1    16  stopped",
  ]);
  for (const l of lines) assert.equal(l, l.trimEnd());
});

test("colour wraps padded cells, so columns stay aligned on a terminal, and is absent when disabled", () => {
  const lines = formatTable(["A", "B"], [["x", "running"], ["yy", "down"]], {
    paint: (cell, _raw, col) => (col === 0 ? colourise(true, "green", cell) : cell),
  });
  assert.equal(lines[1], "\x1b[32mx \x1b[0m  running");
  assert.equal(colourise(false, "green", "x"), "x");
});

test("host and container rows show what the tables promise", () => {
  const h = sampleHost("host1", "10.77.0.11:7401");
  assert.deepEqual(HOST_HEADERS, ["NAME", "ADDRESS", "STATE", "BACKENDS", "CPUS", "MEMORY", "RESERVED", "CONTAINERS", "LABELS"]);
  assert.deepEqual(hostRow(h), ["host1", "10.77.0.11:7401", "ready", "lxc", "2", "4.0 GiB", "512 MiB, 1.5 cpu", "2", "-"]);
  assert.equal(hostRow({ ...h, labels: { zone: "eu", disk: "ssd" } })[8], "disk=ssd zone=eu");
  assert.deepEqual(hostJson(h).backends, ["lxc"]);
  assert.equal(hostJson(h).backendDetails.length, 2);

  const usage = {
    name: "c1", backend: "lxc" as const, state: "running" as const, cpuNanos: 5e9, cpuPercent: 12.345,
    memoryBytes: 3 * 1024 * 1024, memoryLimitBytes: 256 * 1024 * 1024, pids: 4,
    blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: 0, netTxBytes: 0,
  };
  assert.deepEqual(CONTAINER_HEADERS, ["NAME", "HOST", "BACKEND", "STATE", "IPV4", "CPU%", "MEMORY", "PIDS"]);
  assert.deepEqual(containerRow(sampleContainer("c1", "host1", { usage })), ["c1", "host1", "lxc", "running", "-", "12.3", "3.0 MiB", "4"]);
  assert.deepEqual(containerRow(sampleContainer("c2", "host2", { state: "stopped" })), ["c2", "host2", "lxc", "stopped", "-", "-", "-", "-"]);
  // The address without its prefix length, as `lxc list` shows it.
  const addressed = sampleContainer("c3", "host1", { state: "stopped" });
  addressed.spec.ipv4 = "10.240.0.7/16";
  assert.equal(containerRow(addressed)[4], "10.240.0.7");
});
