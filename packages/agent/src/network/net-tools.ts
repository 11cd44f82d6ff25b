// The kernel's network tools (iproute2's ip and bridge, iptables), run through the agent's one runner.
// Each call fails with the tool's own last line; "maybe" variants tolerate "already there / not there".
import { CorralError } from "@corral/wire";
import { lastLine, run } from "../process/run.js";

async function tool(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 15_000, missing: `${cmd} is not installed (package iproute2 / iptables)` });
  if (r.code !== 0) throw new CorralError("internal", `${cmd} ${args.join(" ")} failed: ${lastLine(r.stderr || r.stdout) || `exit ${r.code}`}`);
  return r.stdout;
}

export const ip = (...args: string[]): Promise<string> => tool("ip", args);
export const bridgeTool = (...args: string[]): Promise<string> => tool("bridge", args);
export const iptables = (...args: string[]): Promise<string> => tool("iptables", ["-w", "10", ...args]);

/** Runs `iptables -C …` (check) and adds the rule with `add` (-A/-I …) only when it is missing. */
export async function ensureRule(table: string, chain: string, add: "-A" | "-I", rule: string[]): Promise<void> {
  const r = await run("iptables", ["-w", "10", "-t", table, "-C", chain, ...rule], { timeoutMs: 15_000 });
  if (r.code !== 0) await iptables("-t", table, add, chain, ...rule);
}

/** Creates a chain if it is not there yet. */
export async function ensureChain(table: string, chain: string): Promise<void> {
  const r = await run("iptables", ["-w", "10", "-t", table, "-L", chain, "-n"], { timeoutMs: 15_000 });
  if (r.code !== 0) await iptables("-t", table, "-N", chain);
}

export async function linkExists(name: string): Promise<boolean> {
  const r = await run("ip", ["link", "show", "dev", name], { timeoutMs: 15_000 });
  return r.code === 0;
}

interface IpLink {
  ifname: string;
  mtu?: number;
  master?: string;
  operstate?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; link?: string } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -d -j addr show [dev NAME]`, parsed. */
export async function links(dev?: string): Promise<IpLink[]> {
  const out = await ip("-d", "-j", "addr", "show", ...(dev ? ["dev", dev] : []));
  return JSON.parse(out || "[]") as IpLink[];
}
