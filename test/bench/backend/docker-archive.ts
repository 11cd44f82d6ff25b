// Archive framing choice for docker-export+config/1, measured: streaming the export behind a
// length-prefixed config (what the backend does) against spooling the export to a file first,
// which an outer tar would need to know the rootfs entry's size up front.
//   npm run bench:docker-archive [-- --socket /run/docker.sock] [--mib 256]
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import {
  buildBusyboxRootfs,
  createDockerBackend,
  dockerRuntimeName as runtimeName,
  importTestImage,
  sleepSpec,
  startExtraDockerd,
  testContext,
  type ExtraDockerd,
} from "@corral/agent/test-support";

const { values } = parseArgs({ options: { socket: { type: "string" }, mib: { type: "string", default: "256" } } });
const root = mkdtempSync(join(tmpdir(), "corral-bench-archive-"));
let extra: ExtraDockerd | undefined;
const socketPath = values.socket ?? (extra = await startExtraDockerd(`barch${process.pid}`)).socketPath;
const host = `barch${process.pid}`;
const backend = createDockerBackend(testContext(host, root), { socketPath });
const docker = new Docker({ socketPath });
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

try {
  await importTestImage(socketPath, buildBusyboxRootfs({ dir: root }).tarball, root);
  await backend.create(sleepSpec("big"));
  await backend.start("big");
  for await (const _ of backend.exec("big", ["sh", "-c", `head -c ${Number(values.mib) * 1048576} /dev/urandom > /blob`], [], new AbortController().signal)) void _;
  await backend.stop("big", 10);
  const results: string[] = [];
  for (let round = 0; round < 3; round++) {
    // A: stream straight through into the staging dir.
    let staging = mkdtempSync(join(backend.stagingRoot(), "a-"));
    let t0 = process.hrtime.bigint();
    const out = await backend.archive("big");
    await backend.stageRestore("big", out.format, out.stream, staging);
    await out.finished;
    const a = ms(t0);
    const size = statSync(join(staging, "rootfs.tar")).size;
    rmSync(staging, { recursive: true, force: true });

    // B: spool the export to a file, then send it (as an outer tar entry would) into the staging dir.
    staging = mkdtempSync(join(backend.stagingRoot(), "b-"));
    t0 = process.hrtime.bigint();
    const spool = join(backend.stagingRoot(), `spool-${round}.tar`);
    await pipeline((await docker.getContainer(runtimeName(host, "big")).export()) as Readable, createWriteStream(spool));
    const framed = new PassThrough();
    framed.write(Buffer.alloc(512)); // stands for the tar header that needs statSync(spool).size
    const sending = pipeline(createReadStream(spool), framed);
    await pipeline(framed, createWriteStream(join(staging, "rootfs.tar")));
    await sending;
    const b = ms(t0);
    rmSync(spool);
    rmSync(staging, { recursive: true, force: true });
    results.push(`round ${round}: ${(size / 1048576).toFixed(0)} MiB  stream ${a.toFixed(0)} ms  spool-first ${b.toFixed(0)} ms`);
  }
  console.log(results.join("\n"));
  await backend.remove("big");
} finally {
  await extra?.stop();
  rmSync(root, { recursive: true, force: true });
}
