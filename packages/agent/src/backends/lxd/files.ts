// ct cp for LXD through its file API (`lxc file push/pull -r` semantics over REST): LXD resolves
// every path inside the instance itself. Copies in are first checked and staged on this host, then
// pushed entry by entry with their owners and modes; copies out are pulled the same way into a
// local staging directory and leave as one tar.
import { createReadStream, createWriteStream } from "node:fs";
import { lchown, lstat, mkdir, readdir, readlink, symlink, chmod } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isCode, messageOf, notFound } from "@corral/wire";
import type { LxdClient } from "./client.js";

type Kind = "dir" | "other" | "missing";

const filesPath = (instance: string, path: string): string =>
  `/1.0/instances/${encodeURIComponent(instance)}/files?path=${encodeURIComponent(path)}`;

export class LxdFiles {
  constructor(
    private readonly client: LxdClient,
    private readonly instance: string,
  ) {}

  async kind(path: string): Promise<Kind> {
    try {
      const { body } = await this.client.download(filesPath(this.instance, path));
      body.resume();
      return body.headers["x-lxd-type"] === "directory" ? "dir" : "other";
    } catch (err) {
      // A file on the way (ENOTDIR, which LXD's sftp reports as a failure, not a 404): nothing below it exists.
      if (isCode(err, "not_found") || /: not a directory\b/.test(messageOf(err))) return "missing";
      throw err;
    }
  }

  /** Pushes the local tree `local` to `remote` (a directory's entries after the directory). */
  async push(local: string, remote: string): Promise<void> {
    const st = await lstat(local);
    const headers: Record<string, string> = {
      "X-LXD-uid": String(st.uid),
      "X-LXD-gid": String(st.gid),
      // Octal with a leading 0, as LXD's own client sends it (a bare "640" is read as decimal).
      "X-LXD-mode": `0${(st.mode & 0o7777).toString(8)}`,
      "X-LXD-write": "overwrite",
    };
    const url = filesPath(this.instance, remote);
    if (st.isDirectory()) {
      await this.client.call("POST", url, { headers: { ...headers, "X-LXD-type": "directory" }, body: undefined });
      for (const e of await readdir(local)) await this.push(join(local, e), posix.join(remote, e));
    } else if (st.isSymbolicLink()) {
      const target = await readlink(local);
      await this.client.call("POST", url, { headers: { ...headers, "X-LXD-type": "symlink", "Content-Type": "application/octet-stream" }, stream: streamOf(target) });
    } else if (st.isFile()) {
      await this.client.call("POST", url, { headers: { ...headers, "X-LXD-type": "file", "Content-Type": "application/octet-stream" }, stream: createReadStream(local) });
    }
    // FIFOs (the only other kind the guard lets through) have no place in LXD's file API.
  }

  /** Pulls `remote` (recursively) to the local path `local`, which must not exist. */
  async pull(remote: string, local: string): Promise<void> {
    const { body } = await this.client.download(filesPath(this.instance, remote)).catch((err: unknown) => {
      if (isCode(err, "not_found")) throw notFound(`no such file or directory in the container: ${remote}`, err);
      throw err;
    });
    const uid = Number(body.headers["x-lxd-uid"] ?? 0);
    const gid = Number(body.headers["x-lxd-gid"] ?? 0);
    const mode = parseInt(String(body.headers["x-lxd-mode"] ?? "644"), 8);
    const type = body.headers["x-lxd-type"];
    if (type === "directory") {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const names = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { metadata?: string[] }).metadata ?? [];
      await mkdir(local);
      for (const n of names) {
        if (n === "" || n === "." || n === ".." || n.includes("/")) continue;
        await this.pull(posix.join(remote, n), join(local, n));
      }
    } else if (type === "symlink") {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      // LXD 5.0 answers with the target joined to the link's directory ("a.conf" comes back as
      // "/tmp/app/a.conf"): made relative again, which names the same file inside the container.
      const target = Buffer.concat(chunks).toString("utf8");
      const dir = posix.dirname(remote);
      await symlink(target.startsWith(`${dir}/`) ? posix.relative(dir, target) : target, local);
      await lchown(local, uid, gid);
      return;
    } else {
      await pipeline(body, createWriteStream(local, { flags: "wx", mode: 0o600 }));
    }
    await lchown(local, uid, gid);
    await chmod(local, mode);
  }
}

const streamOf = (text: string): Readable => Readable.from([Buffer.from(text)]);
