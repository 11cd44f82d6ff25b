// A busybox rootfs tarball built offline from the busybox-static binary (nothing can be pulled
// here), for tests and benchmarks of every backend: Docker runs a command in it; LXD boots it, so a
// bootable one also has /sbin/init → busybox and an inittab whose only job is a long sleep (busybox
// init stops cleanly on LXD's SIGPWR).
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BUSYBOX = "/bin/busybox";
const DIRS = ["bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root", "run", "var", "srv", "usr/bin", "usr/sbin"];

export interface BusyboxRootfs {
  tarball: string;
  cleanup(): void;
}

export function buildBusyboxRootfs(opts: { bootable?: boolean; gzip?: boolean; dir?: string } = {}): BusyboxRootfs {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "corral-busybox-"));
  const root = join(dir, "rootfs");
  for (const d of DIRS) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  const applets = spawnSync(BUSYBOX, ["--list"]).stdout.toString().split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  if (opts.bootable) {
    symlinkSync("../bin/busybox", join(root, "sbin/init"));
    writeFileSync(join(root, "etc/inittab"), "::sysinit:/bin/true\n::respawn:/bin/sleep 1000000\n");
  }
  const tarball = join(dir, opts.gzip ? "busybox.tar.gz" : "busybox.tar");
  const tar = spawnSync("tar", ["-C", root, "--numeric-owner", opts.gzip ? "-czf" : "-cf", tarball, "."]);
  if (tar.status !== 0) throw new Error(`tar of the busybox rootfs failed: ${tar.stderr.toString().trim()}`);
  const cleanup = opts.dir
    ? () => {
        rmSync(root, { recursive: true, force: true });
        rmSync(tarball, { force: true });
      }
    : () => rmSync(dir, { recursive: true, force: true });
  return { tarball, cleanup };
}
