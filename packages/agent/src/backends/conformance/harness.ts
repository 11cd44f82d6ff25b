// One conformance suite, run unchanged against every backend (Nomad's drivers/testutils harness).
// Each backend's <name>.test.ts supplies a fixture: two backend instances standing for two hosts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createHash, randomBytes } from "node:crypto";
import type { ContainerSpec, ExecInput, ExecOutput, TerminalSize } from "@corral/wire";
import type { Backend } from "../backend.js";
import { capabilitiesOf, hasLiveLimits } from "../backend.js";
import { LOGIN_SHELL_ARGV } from "../../process/exec-io.js";

export interface ConformanceFixture {
  /** A reason to skip when this machine cannot run the backend. */
  skipReason(): Promise<string | undefined>;
  /** Two backend instances standing for two hosts, and the spec of a small busybox container. */
  setup(): Promise<{ source: Backend; target: Backend; spec(name: string): ContainerSpec; teardown(): Promise<void> }>;
  /** The same backend configured so that it cannot work here, and what its probe must name. */
  unavailable(): { backend: Backend; reason: RegExp };
  /**
   * Why this runtime cannot lift a limit live (Limits: 0 is "no limit"), when it cannot: then
   * setLimits must refuse a 0 with invalid_argument and change nothing.
   */
  cannotLiftLimits?: string;
  /**
   * Exec on a terminal. "shell": only the login shell gets one (OpenVZ's vzctl enter), and its exit
   * code is the tool's 0; a command on a terminal must be refused with a clear reason.
   */
  terminal?: true | "shell";
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function execCollect(b: Backend, name: string, argv: string[]): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let code = -1;
  for await (const o of b.exec(name, argv, [], new AbortController().signal) as AsyncIterable<ExecOutput>) {
    if (o.kind === "stdout") out.push(o.data);
    else if (o.kind === "stderr") err.push(o.data);
    else code = o.code;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code };
}

const MiB = 1024 * 1024;

/**
 * An interactive session with a backend's exec, driven as a person would: send keys and resizes,
 * wait for what the command prints. Output is collected as one string (a terminal's bytes).
 */
export class ExecSession {
  private readonly queue: ExecInput[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  output = "";
  code: number | undefined;
  readonly done: Promise<void>;

  constructor(b: Backend, name: string, argv: string[], io: { tty?: TerminalSize; login?: boolean }) {
    const input: AsyncIterable<ExecInput> = { [Symbol.asyncIterator]: () => this.inputs() };
    this.done = (async () => {
      for await (const o of b.exec(name, argv, [], new AbortController().signal, { ...io, input }) as AsyncIterable<ExecOutput>) {
        if (o.kind === "exit") this.code = o.code;
        else this.output += o.data.toString("utf8");
      }
      this.close();
    })();
  }

  send(i: ExecInput): void {
    this.queue.push(i);
    this.wake?.();
  }
  type(text: string): void {
    this.send({ kind: "stdin", data: Buffer.from(text) });
  }
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Waits until the output matches, or fails with what was seen. */
  async waitFor(re: RegExp, ms = 10_000, poke?: () => void): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.output)) {
      if (Date.now() - t0 > ms || this.code !== undefined) {
        assert.fail(`waited for ${re} in exec output (exit ${this.code}): ${JSON.stringify(this.output.slice(-500))}`);
      }
      poke?.();
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  private async *inputs(): AsyncGenerator<ExecInput> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

export function runConformance(backendName: string, fixture: ConformanceFixture): void {
  describe(`conformance: ${backendName}`, async () => {
    const skip = await fixture.skipReason();
    if (skip) {
      test(`conformance: ${backendName}`, { skip }, () => undefined);
      return;
    }
    let source: Backend;
    let target: Backend;
    let spec: (name: string) => ContainerSpec;
    let teardown: () => Promise<void>;
    const name = "conf1";

    before(async () => {
      ({ source, target, spec, teardown } = await fixture.setup());
      for (const b of [source, target]) await b.remove(name).catch(() => undefined);
    });
    after(async () => {
      for (const b of [source, target]) await b.remove(name).catch(() => undefined);
      await teardown();
    });

    test("probe says available here, and names the reason when it is not", async () => {
      assert.equal((await source.probe()).available, true);
      const { backend, reason } = fixture.unavailable();
      const p = await backend.probe();
      assert.equal(p.available, false);
      assert.match(p.reason, reason);
    });

    test("capabilities follow the optional interfaces", () => {
      const caps = capabilitiesOf(source);
      for (const c of ["exec", "usage", "migrate"]) assert.ok(caps.includes(c as never), caps.join(","));
      assert.equal(caps.includes("live-limits"), hasLiveLimits(source));
    });

    test("an archive of a foreign format is refused before anything is written", async () => {
      mkdirSync(target.stagingRoot(), { recursive: true });
      const staging = mkdtempSync(join(target.stagingRoot(), "foreign-"));
      try {
        const bytes = Readable.from([Buffer.alloc(4096, 7)]);
        await assert.rejects(target.stageRestore(name, "foreign-tar/9", bytes, staging), (e: Error & { code?: string }) => {
          assert.equal(e.code, "invalid_argument");
          assert.match(e.message, /foreign-tar\/9/);
          assert.ok(e.message.includes(target.archiveFormat), e.message);
          return true;
        });
        assert.deepEqual(readdirSync(staging), []);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
      await assert.rejects(target.inspect(name), /not found/);
    });

    test("create with limits leaves a stopped container with those limits", async () => {
      const st = await source.create({ ...spec(name), limits: { memoryBytes: 64 * MiB, cpus: 1 } });
      assert.equal(st.name, name);
      assert.equal(st.backend, backendName);
      assert.equal(st.state, "stopped");
      const ins = await source.inspect(name);
      assert.equal(ins.limits.memoryBytes, 64 * MiB);
      assert.equal(ins.limits.cpus, 1);
    });

    test("a duplicate name is refused", async () => {
      await assert.rejects(source.create(spec(name)), (e: Error & { code?: string }) => {
        assert.equal(e.code, "already_exists");
        assert.match(e.message, /already exists/);
        return true;
      });
    });

    test("an unknown container is not found", async () => {
      await assert.rejects(source.inspect("no-such-ct"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "not_found");
        assert.match(e.message, /no-such-ct/);
        return true;
      });
    });

    test("start, list and inspect agree that it runs", async () => {
      assert.equal((await source.start(name)).state, "running");
      const listed = (await source.list()).find((c) => c.name === name);
      assert.equal(listed?.state, "running");
      assert.ok((await source.inspect(name)).initPid > 0);
    });

    test("exec passes stdout, stderr and the exit code", async () => {
      const r = await execCollect(source, name, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
      assert.deepEqual(r, { stdout: "out\n", stderr: "err\n", code: 3 });
    });

    test("exec forwards stdin, back-pressured, and its EOF ends the command's input", { timeout: 60_000 }, async () => {
      const s = new ExecSession(source, name, ["sh", "-c", "head -n 2; echo second-read; wc -c"], {});
      s.type("hel");
      s.type("lo\nwor");
      s.type("ld\n");
      await s.waitFor(/hello\nworld\nsecond-read\n/);
      // 4 MiB more, in 64 KiB pieces: arrives whole, counted after EOF.
      const blob = randomBytes(4 * MiB);
      for (let off = 0; off < blob.length; off += 64 * 1024) s.send({ kind: "stdin", data: blob.subarray(off, off + 64 * 1024) });
      s.send({ kind: "eof" });
      await s.done;
      assert.equal(s.code, 0, s.output);
      assert.match(s.output, new RegExp(`second-read\\n\\s*${blob.length}\\n$`));
      const sum = new ExecSession(source, name, ["sha256sum"], {});
      sum.send({ kind: "stdin", data: blob });
      sum.send({ kind: "eof" });
      await sum.done;
      assert.equal(sum.output.split(" ")[0], createHash("sha256").update(blob).digest("hex"));
    });

    const shellOnly = fixture.terminal === "shell";
    if (shellOnly) {
      test("a command on a terminal is refused with a clear reason, and nothing runs", async () => {
        const s = new ExecSession(source, name, ["sh", "-c", "echo ran"], { tty: { cols: 80, rows: 24 } });
        await assert.rejects(s.done, (e: Error & { code?: string }) => {
          assert.equal(e.code, "failed_precondition");
          assert.match(e.message, /not supported on .*; run the command without -t, or open a shell with ct shell/);
          return true;
        });
        assert.doesNotMatch(s.output, /ran/);
      });
    } else {
      test("exec on a terminal: its size and resizes, Ctrl-C inside, the exit code", { timeout: 60_000 }, async () => {
        const s = new ExecSession(source, name, ["sh", "-c", "tty; echo ready; while read l; do stty size; done; exit 3"], { tty: { cols: 100, rows: 30 } });
        await s.waitFor(/ready/);
        assert.match(s.output, /^\/dev\/(pts\/\d+|console)/m, "a terminal inside");
        await s.waitFor(/30 100/, 10_000, () => s.type("\r"));
        s.send({ kind: "resize", size: { cols: 120, rows: 40 } });
        await s.waitFor(/40 120/, 10_000, () => s.type("\r"));
        s.send({ kind: "eof" }); // Ctrl-D: read sees the end, the loop ends
        await s.done;
        assert.equal(s.code, 3, s.output);

        const c = new ExecSession(source, name, ["sh", "-c", "trap 'echo caught-int; exit 4' INT; echo ready; while :; do sleep 0.2; done"], { tty: { cols: 80, rows: 24 } });
        await c.waitFor(/ready/);
        c.type("\x03");
        await c.done;
        assert.equal(c.code, 4, c.output); // only the INT trap exits 4: Ctrl-C reached the command
      });
    }

    test("a login shell gives a prompt on a terminal and runs what is typed", { timeout: 30_000 }, async () => {
      const s = new ExecSession(source, name, [...LOGIN_SHELL_ARGV], { tty: { cols: 80, rows: 24 }, login: true });
      await s.waitFor(/[#$] /); // the prompt (busybox ash may follow it with cursor queries and a redraw)
      s.type("echo in-$((6*7))\r");
      await s.waitFor(/in-42/);
      s.type("exit 5\r");
      await s.done;
      assert.equal(s.code, shellOnly ? 0 : 5, s.output); // vzctl enter returns 0 however its shell ended
    });

    test("aborting an exec ends it and kills what it started", { timeout: 30_000 }, async () => {
      const ac = new AbortController();
      const t0 = Date.now();
      const abort = setTimeout(() => ac.abort(), 1500);
      const run = (async () => {
        for await (const _ of source.exec(name, ["sh", "-c", "sleep 601 & sleep 602; wait"], [], ac.signal)) void _;
      })();
      // Ending with an exit code or with "cancelled" are both an end; hanging is not.
      await run.catch((e: Error & { code?: string }) => assert.equal(e.code, "cancelled", e.message));
      clearTimeout(abort);
      assert.ok(Date.now() - t0 < 10_000, `exec ran ${Date.now() - t0} ms after its abort`);
      let ps = "";
      for (let i = 0; i < 10; i++) {
        ps = (await execCollect(source, name, ["ps", "-o", "args"])).stdout;
        if (!/sleep 60[12]/.test(ps)) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.doesNotMatch(ps, /sleep 60[12]/);
    });

    test("usage is reported for the running container", async () => {
      // Usage is sampled: a runtime may report a just-started container's memory a moment late.
      let u = (await source.usage()).find((c) => c.name === name);
      for (let i = 0; i < 25 && !(u && u.memoryBytes > 0); i++) {
        await new Promise((r) => setTimeout(r, 200));
        u = (await source.usage()).find((c) => c.name === name);
      }
      assert.ok(u, "no usage row for the container");
      assert.equal(u.state, "running");
      assert.ok(u.pids >= 1, `pids ${u.pids}`);
      assert.ok(u.memoryBytes > 0, `memory ${u.memoryBytes}`);
      assert.ok(u.memoryLimitBytes > 0 && u.memoryLimitBytes <= 64 * MiB, `limit ${u.memoryLimitBytes}`);
    });

    test("live limits change on the running container", async (t) => {
      if (!hasLiveLimits(source)) return t.skip(`${backendName} has no live limits`);
      const st = await source.setLimits(name, { memoryBytes: 96 * MiB, cpus: 1 });
      assert.equal(st.limits.memoryBytes, 96 * MiB);
      assert.equal((await source.inspect(name)).limits.memoryBytes, 96 * MiB);
    });

    test("a zero limit means no limit", async (t) => {
      if (!hasLiveLimits(source)) return t.skip(`${backendName} has no live limits`);
      const before = (await source.inspect(name)).limits;
      if (fixture.cannotLiftLimits) {
        await assert.rejects(source.setLimits(name, { memoryBytes: 0, cpus: 0 }), (e: Error & { code?: string }) => {
          assert.equal(e.code, "invalid_argument", e.message);
          return true;
        });
        assert.deepEqual((await source.inspect(name)).limits, before, fixture.cannotLiftLimits);
        return;
      }
      const st = await source.setLimits(name, { memoryBytes: 0, cpus: 0 });
      assert.deepEqual(st.limits, { memoryBytes: 0, cpus: 0 });
      assert.deepEqual((await source.inspect(name)).limits, { memoryBytes: 0, cpus: 0 });
      await source.setLimits(name, before);
      assert.deepEqual((await source.inspect(name)).limits, before);
    });

    test("stop with a timeout, then restart", async () => {
      const t0 = Date.now();
      assert.equal((await source.stop(name, 10)).state, "stopped");
      assert.ok(Date.now() - t0 < 12_000, "stop took longer than its timeout");
      assert.equal((await source.stop(name, 10)).state, "stopped", "stopping a stopped container is a no-op");
      assert.equal((await source.start(name)).state, "running");
    });

    test("archive out, restore on another host: contents and numeric owners survive", async () => {
      const w = await execCollect(source, name, [
        "sh",
        "-c",
        "echo corral-payload > /data.txt && chown 1234:2345 /data.txt && sha256sum /data.txt",
      ]);
      assert.equal(w.code, 0, w.stderr);
      await source.stop(name, 10);
      const out = await source.archive(name);
      assert.ok(out.estimatedBytes > 0);
      mkdirSync(target.stagingRoot(), { recursive: true });
      const staging = mkdtempSync(join(target.stagingRoot(), "conf-"));
      try {
        await target.stageRestore(name, out.format, out.stream, staging);
        await out.finished;
        const st = await target.commitRestore(name, staging);
        assert.equal(st.state, "stopped");
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
      assert.equal((await target.start(name)).state, "running");
      const r = await execCollect(target, name, ["sh", "-c", "stat -c %u:%g /data.txt; sha256sum /data.txt"]);
      assert.equal(r.code, 0, r.stderr);
      const [owner, sum] = r.stdout.trim().split("\n");
      assert.equal(owner, "1234:2345");
      assert.equal(sum, w.stdout.trim());
      assert.equal((await target.inspect(name)).limits.memoryBytes, (await source.inspect(name)).limits.memoryBytes);
    });

    test("destroy removes it on both hosts", async () => {
      await target.stop(name, 10);
      await target.remove(name);
      await source.remove(name);
      for (const b of [source, target]) {
        assert.equal((await b.list()).some((c) => c.name === name), false);
        await assert.rejects(b.inspect(name), /not found/);
      }
    });
  });
}
