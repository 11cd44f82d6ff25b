// tar -c as a stream (tar-stream.ts): what tar wrote must wait for its reader, however late.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createTarStream } from "./tar-stream.js";
import { extractTarSafely } from "./safe-extract.js";
import { compress, decompress } from "../transfer/compression.js";

test("a small archive read only after tar (and zstd) exited arrives whole", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tar-stream-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "ct", "rootfs"), { recursive: true });
  writeFileSync(join(dir, "ct", "config"), "lxc.uts.name = ct\n");
  writeFileSync(join(dir, "ct", "rootfs", "big"), "left out");
  for (const c of ["none", "zstd"] as const) {
    // The rest archive of a pre-copy: a few KiB, written in full while the sender dials the target.
    const out = createTarStream(dir, ["ct"], { exclude: ["ct/rootfs"] });
    const wire = compress(out.stream, c);
    await Promise.all([out.finished, wire.finished]);
    await sleep(50); // past the child's exit, when node resumes stdio nobody reads
    const dest = mkdtempSync(join(dir, "x-"));
    const plain = decompress(wire.stream, c);
    const checked = await extractTarSafely(plain.stream, dest);
    await plain.finished;
    assert.equal(checked.members, 2, `${c}: ct/ and ct/config, without the rootfs`);
  }
});

test("destroying the stream ends tar (it does not block on a pipe nobody reads)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tar-stream-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "big"), Buffer.alloc(8 << 20, 1));
  const out = createTarStream(dir, ["big"]);
  out.stream.once("data", () => out.stream.destroy());
  await assert.rejects(out.finished, /tar -c failed/);
});
