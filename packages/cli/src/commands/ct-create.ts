import { BACKEND_NAMES, CorralError, mergeLimits, parseBackend, type ContainerSpec, type CreateRequest } from "@corral/wire";
import type { Context } from "../command.js";
import type { FlagSpec } from "../args.js";
import { WRITE_DEADLINE_MS } from "../connection.js";
import { containerJson, explanationJson, verdictLines } from "../present.js";
import { asUsage } from "../usage-error.js";
import { UsageError } from "../usage-error.js";
import { constraintFlag, envFlag, labelFlag, limitFlags, limitsFromFlags, memoryFlag, nameArg, portFlag, splitCommand, strategyFlag } from "../flag-values.js";

export const name = "ct create";
export const synopsis = "Create a container (and start it), placed by the scheduler or on --host";
export const help = `Usage: corral ct create NAME [flags]

Creates the container on the host the scheduler picks (or on --host) and starts it unless
--no-start is given. LXC containers come from a template (busybox by default); Docker
containers from an image imported with \`corral image import\`. --image names an image for
LXC, LXD and OpenVZ too (\`corral image build debian\`, \`image import --backend B\`); on
OpenVZ it is an OS template in the host's TEMPLATE/cache, as --template names one already there.

Placement: --constraint matches host labels (\`corral host label\`), --anti-affinity keeps
members of a group on different hosts, --strategy picks binpack (fill hosts) or spread.
--dry-run --explain changes nothing and prints every host's verdict: the filter that rejected
it and why, or its score. When nothing fits, the error prints the same table.

LXC containers are unprivileged: their ids are mapped onto the host's subordinate range
(/etc/subuid, /etc/subgid), so root inside is an unprivileged uid on the host. LXD keeps its
own unprivileged default. --privileged turns the mapping off. Warning: in a privileged
container root inside is the same uid as root on the host, and there are many known ways out
of a container; use it only if you would give the container's users root on the host.

--nesting lets a container engine run inside a system container (the seed's \`-p docker\`
profile): nesting, the cgroup hierarchies writable, the tun device; e.g. Docker in an LXC or
LXD container made from a Debian image with docker.io.`;
export const examples = [
  "corral ct create web --memory 512M --cpus 0.5",
  "corral ct create worker --memory 256M --swap 128M --cpu-shares 512 --pids 200",
  "corral ct create api --backend docker --image app:1 --port 8080:80 --env MODE=prod",
  "corral ct create db --host host2 --no-start",
  "corral ct create legacy --privileged --no-start",
  "corral ct create web-2 --constraint zone=eu --anti-affinity web --dry-run --explain",
];

export const flags: FlagSpec[] = [
  { name: "backend", kind: "string", value: "NAME", help: "lxc (default), docker, lxd or openvz", complete: BACKEND_NAMES },
  { name: "template", kind: "string", value: "NAME", help: "LXC template (default busybox for lxc)" },
  { name: "image", kind: "string", value: "IMAGE", help: "image to run (docker, lxd)" },
  ...limitFlags({ memory: "256M", cpus: "1" }),
  { name: "host", kind: "string", value: "HOST", help: "place on this host instead of letting the scheduler choose", complete: "hosts" },
  { name: "env", kind: "list", value: "K=V", help: "environment variable" },
  { name: "port", kind: "list", value: "H:C[/udp]", help: "publish container port C on host port H" },
  { name: "cmd", kind: "string", value: '"CMD ARGS"', help: "command to run, split into words like a shell (no expansion)" },
  { name: "label", kind: "list", value: "k=v", help: "label" },
  { name: "no-start", kind: "boolean", help: "create only; do not start" },
  { name: "privileged", kind: "boolean", help: "lxc/lxd: no id map; root inside is root on the host (see Warning above)" },
  { name: "nesting", kind: "boolean", help: "lxc/lxd: allow a container engine (dockerd) inside" },
  { name: "constraint", kind: "list", value: "k=v|k!=v", help: "only hosts whose label k is (or is not) v" },
  { name: "anti-affinity", kind: "string", value: "GROUP", help: "at most one member of GROUP per host" },
  { name: "strategy", kind: "string", value: "binpack|spread", help: "placement strategy (default: the cluster's)" },
  { name: "dry-run", kind: "boolean", help: "change nothing; with --explain, show every host's verdict" },
  { name: "explain", kind: "boolean", help: "with --dry-run: print each host's verdict (filter and reason, or score)" },
];

/** The spec the flags describe; everything is checked here, before any network call. */
export function specFromArgs(ctx: Context): CreateRequest {
  const a = ctx.args;
  const ctName = nameArg("container", a.positional(0, "container name (corral ct create NAME)"));
  a.noMorePositionals(1);
  const backend = asUsage(() => parseBackend(a.string("backend") ?? "lxc"));
  const spec: ContainerSpec = {
    name: ctName,
    backend,
    template: a.string("template") ?? (backend === "lxc" && !a.has("image") ? "busybox" : ""),
    image: a.string("image") ?? "",
    limits: mergeLimits({ memoryBytes: memoryFlag("256M"), cpus: 1 }, limitsFromFlags(a)),
    env: a.list("env").map(envFlag),
    cmd: a.has("cmd") ? splitCommand(a.string("cmd") as string) : [],
    ports: a.list("port").map(portFlag),
    labels: Object.fromEntries(a.list("label").map(labelFlag)),
    ...(a.bool("privileged") ? { privileged: true } : {}),
    ...(a.bool("nesting") ? { nesting: true } : {}),
  };
  if ((spec.privileged || spec.nesting) && backend !== "lxc" && backend !== "lxd") {
    throw new UsageError(`--${spec.privileged ? "privileged" : "nesting"} applies to lxc and lxd system containers, not ${backend}`);
  }
  const strategy = a.string("strategy");
  return {
    spec,
    host: a.string("host") ?? "",
    start: !a.bool("no-start"),
    constraints: a.list("constraint").map(constraintFlag),
    antiAffinity: a.string("anti-affinity") ?? "",
    strategy: strategy === undefined ? "" : strategyFlag(strategy),
  };
}

export async function run(ctx: Context): Promise<number | void> {
  const req = specFromArgs(ctx);
  if (ctx.args.bool("explain") && !ctx.args.bool("dry-run")) throw new UsageError("--explain goes with --dry-run");
  if (ctx.args.bool("dry-run")) {
    const e = await ctx.connection().call((cl) => cl.explainPlacement(req));
    if (ctx.json) ctx.printJson(explanationJson(e));
    else {
      if (ctx.args.bool("explain")) for (const l of verdictLines(e)) ctx.print(l);
      ctx.print(e.host ? `would place ${req.spec.name} on ${e.host} (${e.strategy})` : `no host can run ${req.spec.name}`);
    }
    return e.host ? 0 : 1;
  }
  let c;
  try {
    c = await ctx.connection().call((cl) => cl.create(req), WRITE_DEADLINE_MS, `creating ${req.spec.name}`);
  } catch (err) {
    // Nothing fits: the controller sent every host's verdict; print the table before the one-line reason.
    const verdicts = err instanceof CorralError ? err.details.verdicts : undefined;
    if (verdicts?.length) for (const l of verdictLines({ host: null, verdicts })) ctx.io.stderr.write(`${l}\n`);
    throw err;
  }
  if (ctx.json) return ctx.printJson(containerJson(c));
  ctx.print(`created ${c.name} on ${c.host || "?"} (${c.backend}, ${c.state})`);
}
