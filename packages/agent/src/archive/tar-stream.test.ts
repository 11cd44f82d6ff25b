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

test("wide records: a migration's archive comes in 64 KiB records and the guarded extraction reads it to its end", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tar-stream-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "ct"));
  writeFileSync(join(dir, "ct", "data"), Buffer.alloc(100_000, 7));
  const length = async (wideRecords: boolean) => {
    const out = createTarStream(dir, ["ct"], { wideRecords });
    let n = 0;
    for await (const b of out.stream) n += (b as Buffer).length;
    await out.finished;
    return n;
  };
  // tar pads its last record: 10 KiB records unless asked for 64 KiB (ct cp out keeps the former).
  assert.equal((await length(false)) % 10240, 0);
  const wide = await length(true);
  assert.equal(wide % 65536, 0, `${wide} bytes`);
  assert.notEqual(wide % 10240, 0, "not a multiple of 10 KiB records too");
  // The extraction's tar reads the whole of the last record: its writer never meets a closed pipe.
  const out = createTarStream(dir, ["ct"], { wideRecords: true });
  const dest = mkdtempSync(join(dir, "x-"));
  const checked = await extractTarSafely(out.stream, dest);
  await out.finished;
  assert.equal(checked.members, 2);
});
