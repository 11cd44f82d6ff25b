// Which backends work on this host: probed once at agent start, with the reason when one does not
// (Incus' driver registry with a cached probe).
import { failedPrecondition, type BackendInfo, type BackendName } from "@corral/wire";
import { capabilitiesOf, type Backend } from "./backend.js";

export class BackendRegistry {
  private readonly probed = new Map<BackendName, { backend: Backend; available: boolean; reason: string }>();

  constructor(private readonly hostName: string) {}

  /** Probes each backend once; a probe that throws counts as unavailable with its message. */
  async probeAll(backends: Backend[]): Promise<void> {
    const results = await Promise.all(
      backends.map((b) => b.probe().catch((e: Error) => ({ available: false, reason: e.message }))),
    );
    // Keep the configured order, so every host lists its backends alike.
    backends.forEach((b, i) => this.probed.set(b.name, { backend: b, available: results[i]!.available, reason: results[i]!.reason }));
  }

  /** A backend that is available here, or a clear error saying why not. */
  get(name: BackendName): Backend {
    const p = this.probed.get(name);
    if (!p) throw failedPrecondition(`backend ${name} is not configured on ${this.hostName}`);
    if (!p.available) throw failedPrecondition(`backend ${name} is not available on ${this.hostName}: ${p.reason}`);
    return p.backend;
  }

  available(): Backend[] {
    return [...this.probed.values()].filter((p) => p.available).map((p) => p.backend);
  }

  infos(): BackendInfo[] {
    return [...this.probed.values()].map((p) => ({
      name: p.backend.name,
      available: p.available,
      reason: p.reason,
      capabilities: capabilitiesOf(p.backend),
    }));
  }
}
