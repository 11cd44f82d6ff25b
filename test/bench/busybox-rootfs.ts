// Busybox rootfs tarballs built offline from the busybox-static binary (no registry here).
// Docker runs a command in it; LXD boots it, so it also needs /sbin/init and an inittab.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BUSYBOX = "/bin/busybox";

export interface Tarball {
  path: string;
  cleanup(): void;
}

export function buildBusyboxTarball(opts: { bootable: boolean }): Tarball {
  const dir = mkdtempSync(join(tmpdir(), "corral-bench-rootfs-"));
  const root = join(dir, "rootfs");
  for (const d of ["bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root", "run", "var", "usr/bin", "usr/sbin"]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  const applets = spawnSync(BUSYBOX, ["--list"]).stdout.toString().split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
  if (opts.bootable) {
    symlinkSync("../bin/busybox", join(root, "sbin/init"));
    // busybox init: nothing to set up, one long-running process, and a clean halt on SIGPWR.
    writeFileSync(join(root, "etc/inittab"), "::sysinit:/bin/true\n::respawn:/bin/sleep 1000000\n");
  }
  const path = join(dir, "rootfs.tar");
  const tar = spawnSync("tar", ["-C", root, "--numeric-owner", "-cf", path, "."]);
  if (tar.status !== 0) throw new Error(`tar of the busybox rootfs failed: ${tar.stderr.toString().trim()}`);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
