import { formatBytes, type Container } from "@corral/wire";
import type { Context } from "../command.js";
import { containerJson, limitRows } from "../present.js";

export const name = "ct show";
export const synopsis = "Show one container: spec, state and usage";
export const help = `Usage: corral ct show NAME [--json]`;
export const positionals = "containers";
export const examples = [
  "corral ct show web",
  "corral ct show web --json | jq .usage",
];

export async function run(ctx: Context): Promise<void> {
  const ct = ctx.args.positional(0, "container name (corral ct show NAME)");
  ctx.args.noMorePositionals(1);
  const c = await ctx.connection().call((cl) => cl.get(ct));
  if (ctx.json) return ctx.printJson(containerJson(c));
  for (const l of describeContainer(c)) ctx.print(l);
}

export function describeContainer(c: Container): string[] {
  const s = c.spec;
  const u = c.usage;
  const rows: [string, string][] = [
    ["Name", c.name],
    ["Host", c.host || "-"],
    ["Backend", c.backend],
    ["State", c.state === c.desiredState ? c.state : `${c.state} (desired ${c.desiredState})`],
    [s.image ? "Image" : "Template", s.image || s.template || "-"],
    ...limitRows(s.limits),
    ["Command", s.cmd.length ? s.cmd.join(" ") : "-"],
    ["Env", s.env.length ? s.env.join(" ") : "-"],
    ["Interfaces", s.ipv4 ? `eth0 ${s.ipv4}` : "-"],
    ["Ports", s.ports.length ? s.ports.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`).join(" ") : "-"],
    ["Labels", Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(" ") || "-"],
    ...systemRows(c),
    ["Created", c.createdUnixMs ? new Date(c.createdUnixMs).toISOString() : "-"],
  ];
  if (u && c.state === "running") {
    rows.push(
      ["CPU", `${u.cpuPercent.toFixed(1)}% (${(u.cpuNanos / 1e9).toFixed(2)} s total)`],
      ["Memory used", `${formatBytes(u.memoryBytes)}${u.memoryLimitBytes > 0 ? ` of ${formatBytes(u.memoryLimitBytes)}` : ""}`],
      ["Pids", String(u.pids)],
      ["Block I/O", `read ${formatBytes(u.blockReadBytes)}, written ${formatBytes(u.blockWriteBytes)}`],
      ["Network", `received ${formatBytes(u.netRxBytes)}, sent ${formatBytes(u.netTxBytes)}`],
    );
  }
  const x = c.lastExit;
  if (x) {
    const at = x.atUnixMs ? new Date(x.atUnixMs).toISOString() : "-";
    rows.push(["Last exit", x.exitCode < 0 ? `did not start, ${at}: ${x.reason}` : `code ${x.exitCode}, ${at}: ${x.reason}`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(w)} ${v}`);
  // The runtime's own words, indented under the table: the tail of its log for this container.
  if (x?.logTail.trim()) lines.push("Last log lines:", ...x.logTail.replace(/\r/g, "").trimEnd().split("\n").map((l) => `  ${l}`));
  return lines;
}

/** LXC and LXD say which they are: root inside mapped to an unprivileged host uid, or host root. */
function systemRows(c: Container): [string, string][] {
  if (c.backend !== "lxc" && c.backend !== "lxd") return [];
  const rows: [string, string][] = [
    ["Privileged", c.spec.privileged ? "yes: root inside is root on the host" : "no: ids mapped onto the host's subordinate range"],
  ];
  if (c.spec.nesting) rows.push(["Nesting", "yes: a container engine may run inside"]);
  return rows;
}
