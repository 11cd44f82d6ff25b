import { test } from "node:test";
import assert from "node:assert/strict";
import { cpusFlag, envFlag, labelFlag, memoryFlag, nameArg, portFlag, splitCommand } from "./flag-values.js";
import { UsageError } from "./usage-error.js";

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

test("memory sizes use binary single-letter units; nonsense is a usage error with the documented sentence", () => {
  assert.equal(memoryFlag("256M"), 256 * 1024 * 1024);
  assert.equal(memoryFlag("1G"), 1024 ** 3);
  assert.equal(memoryFlag("512MiB"), 512 * 1024 * 1024);
  assert.throws(
    () => memoryFlag("lots"),
    (e) => e instanceof UsageError && e.message === 'invalid memory "lots": expected a size such as 256M, 1G or 512MiB',
  );
  assert.throws(() => memoryFlag("0"), usage(/must be positive/));
});

test("cpus, names, env, labels and ports are checked locally", () => {
  assert.equal(cpusFlag("0.5"), 0.5);
  assert.throws(() => cpusFlag("many"), usage(/invalid cpus "many"/));
  assert.equal(nameArg("container", "web-1"), "web-1");
  assert.throws(() => nameArg("container", "Web_1"), usage(/invalid container name "Web_1"/));
  assert.equal(envFlag("A=b=c"), "A=b=c");
  assert.equal(envFlag("EMPTY="), "EMPTY=");
  assert.throws(() => envFlag("NOVALUE"), usage(/invalid env "NOVALUE"/));
  assert.deepEqual(labelFlag("tier=web"), ["tier", "web"]);
  assert.throws(() => labelFlag("=x"), usage(/invalid label/));
  assert.deepEqual(portFlag("8080:80"), { hostPort: 8080, containerPort: 80, protocol: "tcp" });
  assert.deepEqual(portFlag("5353:53/udp"), { hostPort: 5353, containerPort: 53, protocol: "udp" });
  assert.throws(() => portFlag("70000:80"), usage(/invalid port "70000:80"/));
  assert.throws(() => portFlag("80"), usage(/expected HOST:CONTAINER/));
});

test("--cmd is split into words like a shell, without expansion", () => {
  assert.deepEqual(splitCommand("sleep 1000"), ["sleep", "1000"]);
  assert.deepEqual(splitCommand(`sh -c 'echo $HOME; exit 3'`), ["sh", "-c", "echo $HOME; exit 3"]);
  assert.deepEqual(splitCommand(`echo "a \\"b\\"" c\\ d ''`), ["echo", 'a "b"', "c d", ""]);
  assert.deepEqual(splitCommand("   "), []);
  assert.throws(() => splitCommand("echo 'oops"), usage(/unterminated ' quote/));
});
