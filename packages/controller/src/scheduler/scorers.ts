// Rankers: higher is better. Binpack fills hosts so that whole hosts stay free for big asks;
// spread keeps load even.
import type { Algorithm, HostSnapshot, PlacementAsk } from "./types.js";

const ratio = (used: number, total: number) => (total > 0 ? Math.min(1, used / total) : 1);

/** How full the host would be after placing `ask`, 0..1, memory and cpu weighted equally. */
export function utilisationAfter(host: HostSnapshot, ask: PlacementAsk): number {
  const mem = ratio(host.reservedMemoryBytes + Math.max(0, ask.memoryBytes), host.memoryBytes);
  const cpu = ratio(host.reservedCpus + Math.max(0, ask.cpus), host.cpus);
  return (mem + cpu) / 2;
}

export type Scorer = (host: HostSnapshot, ask: PlacementAsk) => number;

export const SCORERS: Record<Algorithm, Scorer> = {
  binpack: utilisationAfter,
  spread: (host, ask) => 1 - utilisationAfter(host, ask),
};
