import type { Context } from "../command.js";
import { formatTable } from "../table.js";

export const name = "network show";
export const synopsis = "Show the container network: its pool, what holds each address, each host's bridge";
export const help = `Usage: corral network show [--json]

Every container gets an address from one cluster-wide pool and keeps it when it migrates;
every host has a bridge (corral0) with an address from the same pool, the containers'
gateway there. The bridges are joined by a VXLAN overlay, so an address answers from every
host. KIND is "container" or "bridge" (a host's); HOST is where the holder lives now.`;
export const examples = ["corral network show", "corral network show --json | jq -r '.addresses[] | select(.kind == \"container\") | .address'"];

export async function run(ctx: Context): Promise<void> {
  ctx.args.noMorePositionals(0);
  const net = await ctx.connection().call((c) => c.showNetwork());
  if (ctx.json) return ctx.printJson(net);
  if (!net.pool) return ctx.print("no container network: the controller runs without a pool (--network-pool none)");
  ctx.print(`Pool:    ${net.pool}  (VXLAN id ${net.vni}, MTU ${net.mtu}), ${net.free} addresses free`);
  const rows = net.addresses.map((a) => [a.address, a.holder, a.kind === "host" ? "bridge" : "container", a.host || "-"]);
  for (const l of formatTable(["ADDRESS", "HOLDER", "KIND", "HOST"], rows)) ctx.print(l);
}
