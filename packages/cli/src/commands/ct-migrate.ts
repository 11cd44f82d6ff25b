import { CorralError, parseBackend, parseCompression, parseSize } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { followHint, setInterruptNote } from "../progress.js";
import { conversionLines, migrationSummary } from "../present.js";
import { UsageError, asUsage } from "../usage-error.js";
import { timeoutFlag } from "./ct-stop.js";
import { watchToEnd } from "./migration-show.js";

export const name = "ct migrate";
export const synopsis = "Move a container to another host, with a progress bar";
export const help = `Usage: corral ct migrate NAME --to HOST [--backend lxc|lxd] [--compression none|zstd] [--stop-timeout S]
                         [--bwlimit RATE] [--precopy] [--keep-source] [--detach] [--dry-run] [--json]

Stops the container, streams its state directly from its host to HOST, verifies it,
starts it there and removes the source copy. Any failure rolls back: the container runs
on its old host again. Progress goes to stderr; exit code 0 only when the container runs
on HOST. With --json, prints the final migration record.

The stop waits --stop-timeout seconds for a clean shutdown, then kills (0: kill at once).
A stopped container moves stopped and has no downtime. The migration belongs to the
controller: Ctrl-C or --detach stop only the watching; follow it again with
"corral migration show ID --follow". --dry-run runs the pre-flight checks (target capacity
and backend, both hosts answering, the source reaching the target's data listener with the
TLS handshake, free disk for staging on the target, the container's addresses free on the
target) and changes nothing; a failed check is named with the host that failed it.

--backend converts while it moves: OpenVZ → LXC or LXD, LXC → LXD (as lxc-to-lxd does). The
private area or rootfs keeps its files, owners and modes (shifted into the target's id map),
the container keeps its address; memory, CPUs, hostname and network become the target's
settings, and the settings that cannot carry over are listed (also by --dry-run and by
"corral migration show ID"). The source is kept until the converted container runs.

--precopy copies the rootfs with rsync over the hosts' authenticated data link while the
container runs, and again while each pass sends at most half the one before (down to 8 MiB,
four passes at most), then stops it, sends only what changed (new, modified and deleted files,
owners, modes, xattrs, hard links) and the rest of the container, and starts it on HOST:
the downtime is the final pass, not the whole copy ("corral migration show ID" splits it into
stop, final sync and start). LXC only, with rsync on both hosts: Docker and LXD containers,
and a move that converts, are refused with the backend named.`;
export const positionals = "containers";
export const examples = [
  "corral ct migrate web --to host3",
  "corral ct migrate web --to host3 --compression zstd --stop-timeout 10",
  "corral ct migrate web --to host3 --detach",
  "corral ct migrate web --to host3 --dry-run",
  "corral ct migrate web --to host3 --backend lxd --dry-run",
];
export const flags: FlagSpec[] = [
  { name: "to", kind: "string", value: "HOST", help: "target host (required)", complete: "hosts" },
  { name: "backend", kind: "string", value: "lxc|lxd", help: "convert to this backend on the way (openvz→lxc|lxd, lxc→lxd)", complete: ["lxc", "lxd"] },
  { name: "compression", kind: "string", value: "none|zstd", help: "compress the archive on the link (default none)", complete: ["none", "zstd"] },
  { name: "stop-timeout", kind: "string", value: "S", help: "seconds for a clean stop before the kill (default 30; 0 kills at once)" },
  { name: "bwlimit", kind: "string", value: "RATE", help: "cap the copy at RATE bytes per second, e.g. 50M" },
  { name: "precopy", kind: "boolean", help: "copy while it runs, then stop and send only what changed (LXC)" },
  { name: "keep-source", kind: "boolean", help: "keep the stopped source until `corral migration finish ID`" },
  { name: "detach", kind: "boolean", help: "print the migration id and return at once" },
  { name: "dry-run", kind: "boolean", help: "run the pre-flight checks only; change nothing" },
];

export async function run(ctx: Context): Promise<number> {
  const ct = ctx.args.positional(0, "container name (corral ct migrate NAME --to HOST)");
  ctx.args.noMorePositionals(1);
  const to = ctx.args.string("to");
  if (!to) throw new UsageError("missing --to HOST: which host should the container move to?");
  const compression = asUsage(() => parseCompression(ctx.args.string("compression") ?? "none"));
  const stopText = ctx.args.string("stop-timeout");
  const stopTimeoutSeconds = stopText === undefined ? undefined : timeoutFlag(stopText);
  const backendText = ctx.args.string("backend");
  const bwText = ctx.args.string("bwlimit");
  const bwlimitBytesPerSecond = bwText === undefined ? 0 : asUsage(() => parseSize("bwlimit", bwText));
  const opts = {
    compression,
    stopTimeoutSeconds,
    bwlimitBytesPerSecond,
    keepSource: ctx.args.bool("keep-source"),
    ...(ctx.args.bool("precopy") ? { precopy: true } : {}),
    detach: ctx.args.bool("detach"),
    dryRun: ctx.args.bool("dry-run"),
    ...(backendText === undefined ? {} : { targetBackend: asUsage(() => parseBackend(backendText)) }),
  };
  const client = await ctx.connection().controller();
  const started = Date.now();

  if (opts.dryRun || opts.detach) {
    let first;
    for await (const u of client.migrate(ct, to, opts)) first ??= u;
    if (!first) throw new CorralError("internal", `the controller answered nothing for ${ct}`);
    const m = first.migration;
    if (ctx.json) ctx.printJson(m);
    else if (opts.dryRun) {
      ctx.print(`dry run: ${ct} can move ${m.sourceHost} → ${m.targetHost} (${m.wasRunning ? "running: it would be stopped" : "stopped: it stays stopped, no downtime"}); nothing was changed`);
      if (m.conversion) for (const l of conversionLines(m.conversion)) ctx.print(l);
    } else ctx.print(m.id);
    if (opts.detach && !ctx.json) ctx.io.stderr.write(`migration ${m.id} of ${ct} runs on; follow it: ${followHint(m.id)}\n`);
    return 0;
  }

  const final = await watchToEnd(ctx, client.migrate(ct, to, opts), (id) =>
    setInterruptNote(`stopped watching; migration ${id} of ${ct} continues on the controller. Follow it: ${followHint(id)}`),
  );
  if (ctx.json) ctx.printJson(final);
  if (!ctx.json) ctx.print(migrationSummary(final, Date.now() - started));
  if (!ctx.json && final.conversion) for (const l of conversionLines(final.conversion)) ctx.print(l);
  return 0;
}
