import { BACKEND_NAMES, parseBackend, type ContainerSpec } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson } from "../present.js";
import { asUsage } from "../usage-error.js";
import { cpusFlag, envFlag, labelFlag, memoryFlag, nameArg, portFlag, splitCommand } from "../flag-values.js";

export const name = "ct create";
export const synopsis = "Create a container (and start it), placed by the scheduler or on --host";
export const help = `Usage: corral ct create NAME [flags]

Creates the container on the host the scheduler picks (or on --host) and starts it unless
--no-start is given. LXC containers come from a template (busybox by default); Docker
containers from an image imported with \`corral image import\`.`;
export const examples = [
  "corral ct create web --memory 512M --cpus 0.5",
  "corral ct create api --backend docker --image app:1 --port 8080:80 --env MODE=prod",
  "corral ct create db --host host2 --no-start",
];

export const flags: FlagSpec[] = [
  { name: "backend", kind: "string", value: "NAME", help: "lxc (default), docker, lxd or openvz", complete: BACKEND_NAMES },
  { name: "template", kind: "string", value: "NAME", help: "LXC template (default busybox for lxc)" },
  { name: "image", kind: "string", value: "IMAGE", help: "image to run (docker, lxd)" },
  { name: "memory", kind: "string", value: "SIZE", help: "memory limit such as 256M, 1G, 512MiB (default 256M)" },
  { name: "cpus", kind: "string", value: "N", help: "CPU limit such as 1 or 0.5 (default 1)" },
  { name: "host", kind: "string", value: "HOST", help: "place on this host instead of letting the scheduler choose", complete: "hosts" },
  { name: "env", kind: "list", value: "K=V", help: "environment variable" },
  { name: "port", kind: "list", value: "H:C[/udp]", help: "publish container port C on host port H" },
  { name: "cmd", kind: "string", value: '"CMD ARGS"', help: "command to run, split into words like a shell (no expansion)" },
  { name: "label", kind: "list", value: "k=v", help: "label" },
  { name: "no-start", kind: "boolean", help: "create only; do not start" },
];

/** The spec the flags describe; everything is checked here, before any network call. */
export function specFromArgs(ctx: Context): { spec: ContainerSpec; host: string; start: boolean } {
  const a = ctx.args;
  const ctName = nameArg("container", a.positional(0, "container name (corral ct create NAME)"));
  a.noMorePositionals(1);
  const backend = asUsage(() => parseBackend(a.string("backend") ?? "lxc"));
  const spec: ContainerSpec = {
    name: ctName,
    backend,
    template: a.string("template") ?? (backend === "lxc" && !a.has("image") ? "busybox" : ""),
    image: a.string("image") ?? "",
    limits: { memoryBytes: memoryFlag(a.string("memory") ?? "256M"), cpus: cpusFlag(a.string("cpus") ?? "1") },
    env: a.list("env").map(envFlag),
    cmd: a.has("cmd") ? splitCommand(a.string("cmd") as string) : [],
    ports: a.list("port").map(portFlag),
    labels: Object.fromEntries(a.list("label").map(labelFlag)),
  };
  return { spec, host: a.string("host") ?? "", start: !a.bool("no-start") };
}

export async function run(ctx: Context): Promise<void> {
  const req = specFromArgs(ctx);
  const c = await ctx.connection().call((cl) => cl.create(req), WRITE_DEADLINE_MS, `creating ${req.spec.name}`);
  if (ctx.json) return ctx.printJson(containerJson(c));
  ctx.print(`created ${c.name} on ${c.host || "?"} (${c.backend}, ${c.state})`);
}
