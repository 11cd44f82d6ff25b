import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContainerSpec } from "@corral/wire";
import { checkExec, checkImage, checkPrepare, checkSpec, checkToken } from "./request-checks.js";

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: "web",
  backend: "lxc",
  template: "busybox",
  image: "",
  limits: { memoryBytes: 0, cpus: 0 },
  env: [],
  cmd: [],
  ports: [],
  labels: {},
  ...over,
});

test("a well-formed spec passes; each bad field is named", () => {
  checkSpec(spec({ image: "localhost:5000/app:1.2", env: ["MODE=prod"], ports: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] }));
  assert.throws(() => checkSpec(spec({ name: "../etc" })), /invalid container name/);
  assert.throws(() => checkSpec(spec({ template: "../../bin/sh" })), /invalid template/);
  assert.throws(() => checkSpec(spec({ env: ["NOEQUALS"] })), /not NAME=value/);
  assert.throws(() => checkSpec(spec({ cmd: ["a\0b"] })), /NUL/);
  assert.throws(() => checkSpec(spec({ ports: [{ hostPort: 70000, containerPort: 80, protocol: "tcp" }] })), /invalid host port 70000/);
  assert.throws(() => checkSpec(spec({ limits: { memoryBytes: -1, cpus: 0 } })), /invalid memory limit/);
  assert.throws(() => checkSpec(spec({ labels: { "bad key": "v" } })), /invalid label key/);
  assert.throws(() => checkImage("../../x"), /invalid image/);
});

test("exec needs a command of sane strings", () => {
  const ref = { name: "web", backend: "lxc" as const };
  assert.throws(() => checkExec({ ref, argv: [], env: [] }), /needs a command/);
  assert.throws(() => checkExec({ ref: { ...ref, name: "a/b" }, argv: ["sh"], env: [] }), /invalid container name/);
});

test("prepare binds a well-formed token to a migration and two distinct, valid hosts", () => {
  const ok = { token: "0f".repeat(32), ref: { name: "web", backend: "lxc" as const }, compression: "none" as const, expectedBytes: 0, migrationId: "m-1a2b", sourceHost: "h1", targetHost: "h2" };
  checkPrepare(ok);
  assert.throws(() => checkToken("0F".repeat(32)), /malformed transfer token/);
  assert.throws(() => checkPrepare({ ...ok, migrationId: "m/../../x" }), /invalid migration id/);
  assert.throws(() => checkPrepare({ ...ok, sourceHost: "h2" }), /the same/);
  assert.throws(() => checkPrepare({ ...ok, targetHost: "" }), /invalid target host name/);
  assert.throws(() => checkPrepare({ ...ok, expectedBytes: -5 }), /invalid expected size/);
});
