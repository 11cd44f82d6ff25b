// The pure parts of the Docker backend: the exec stream demultiplexer, image changes, cgroup paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { ExecOutput } from "@corral/wire";
import { demuxFrames } from "./exec-stream.js";
import { imageChanges } from "./image-changes.js";
import { cgroupPathOf } from "../../process/container-processes.js";

const frame = (type: number, text: string): Buffer => {
  const body = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
};

test("demuxFrames keeps order across frames split at any byte", async () => {
  const all = Buffer.concat([frame(1, "out1\n"), frame(2, "err\n"), frame(1, "out2\n")]);
  for (let cut = 1; cut < all.length; cut++) {
    const got: ExecOutput[] = [];
    for await (const o of demuxFrames(Readable.from([all.subarray(0, cut), all.subarray(cut)]))) got.push(o);
    assert.deepEqual(
      got.map((o) => (o.kind === "exit" ? "" : `${o.kind}:${o.data.toString()}`)),
      ["stdout:out1\n", "stderr:err\n", "stdout:out2\n"],
      `cut at ${cut}`,
    );
  }
  await assert.rejects(async () => {
    for await (const _ of demuxFrames(Readable.from([frame(1, "abc").subarray(0, 10)]))) void _;
  }, /ended inside a frame/);
});

test("imageChanges quotes values and uses the exec form for Cmd and Entrypoint", () => {
  assert.deepEqual(
    imageChanges({
      Env: ['A=x "y" $z \\', "BAD\nLINE=1", "PATH=/bin"],
      Cmd: ["sh", "-c", "echo $HOME"],
      Entrypoint: null,
      WorkingDir: "/srv/app",
      User: "1000:1000",
      Labels: { "com.example/team": "blue sky" },
      ExposedPorts: { "80/tcp": {} },
    }),
    [
      'ENV A="x \\"y\\" \\$z \\\\"',
      'ENV PATH="/bin"',
      'CMD ["sh","-c","echo $HOME"]',
      "WORKDIR /srv/app",
      "USER 1000:1000",
      "EXPOSE 80/tcp",
      'LABEL "com.example/team"="blue sky"',
    ],
  );
});

test("cgroupPathOf finds the memory hierarchy's path (v1) or the unified one (v2)", () => {
  const v1 = "4:memory:/corral-host1-docker/abc\n1:cpu,cpuacct:/corral-host1-docker/abc\n0::/\n";
  assert.equal(cgroupPathOf(v1, 1), "corral-host1-docker/abc");
  assert.equal(cgroupPathOf("0::/system.slice/docker-abc.scope\n", 2), "system.slice/docker-abc.scope");
});
