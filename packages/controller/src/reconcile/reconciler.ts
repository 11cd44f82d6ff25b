// The desired-state reconciler: compares what the controller wants (each container's desired
// state, migrations' leftovers) with what the hosts report, and acts until they agree. Each
// thing it acts on backs off on its own (2 s doubling to 60 s), so one stuck host never slows
// the rest. Only hosts that are up are acted on: a down host's containers are `unknown`.
import { setImmediate as yieldLoop } from "node:timers/promises";
import { isCode, messageOf } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer, markLost } from "../store/containers.js";
import { getHost } from "../store/hosts.js";
import { hostsWithPendingCleanups, pendingSourceCleanups, pendingTargetCleanups } from "../store/migrations.js";
import { releasePlacement } from "../store/reservations.js";
import { SUBJECTS } from "../events/subjects.js";
import { retryCleanups } from "../migration/cleanups.js";
import { startContainer } from "../api/container-lifecycle.js";
import { refOf } from "../api/lookup.js";
import { Backoff } from "./backoff.js";

const RECHECK_PRESENT_MS = 30_000;
/** Containers looked at between two turns of the event loop: a pass over 50,000 never holds it for long. */
const SLICE = 2000;

/** States that say the host has the container (as opposed to creating, migrating, lost). */
const SETTLED = new Set(["running", "stopped", "unknown", "error"]);

export class Reconciler {
  private readonly backoff = new Backoff();
  private busy: Promise<void> | undefined;

  constructor(private readonly ctx: ControllerContext) {}

  /** Ticks every everyMs until the returned stop is called; a tick never overlaps the previous. */
  start(everyMs = 1000): () => Promise<void> {
    const timer = setInterval(() => {
      if (this.busy || !this.ctx.store.open) return;
      this.busy = this.tick()
        .catch((err: unknown) => this.ctx.log.warn({ err: messageOf(err) }, "reconcile pass failed"))
        .finally(() => (this.busy = undefined));
    }, everyMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.busy;
    };
  }

  async tick(now = Date.now()): Promise<void> {
    await this.removeLeftovers(now);
    await this.findLost(now);
    await this.startWanted(now);
  }

  /** Leftovers of finished or rolled-back migrations, removed once their host answers, on a fresh channel. */
  private async removeLeftovers(now: number): Promise<void> {
    for (const hostName of hostsWithPendingCleanups(this.ctx.store.db)) {
      const host = getHost(this.ctx.store.db, hostName);
      const key = `cleanup/${hostName}`;
      if (!host || host.state === "down" || !this.backoff.due(key, now)) continue;
      await retryCleanups(this.ctx, hostName);
      const left = pendingTargetCleanups(this.ctx.store.db, hostName).length + pendingSourceCleanups(this.ctx.store.db, hostName).length;
      if (left === 0) {
        this.backoff.succeeded(key);
        continue;
      }
      // The next attempt starts from a fresh channel: a failed one can keep failing after the agent is back.
      this.backoff.failed(key, now);
      this.ctx.agents.renew(host);
    }
  }

  /**
   * A container its host has stopped mentioning is asked about directly; only the host's own
   * not_found makes it lost (a backend whose usage read failed says nothing about its containers).
   */
  private async findLost(now: number): Promise<void> {
    const silentAfter = 3 * this.ctx.settings.reportIntervalMs;
    // The pass reads the in-memory state: with 50,000 containers, reading and parsing every row each
    // second stalled the event loop (and with it every heartbeat) for hundreds of milliseconds.
    const state = this.ctx.store.state;
    const silent: string[] = [];
    let seen = 0;
    for (const [name, c] of state.containers()) {
      if (++seen % SLICE === 0) await yieldLoop();
      if (!SETTLED.has(c.state)) continue;
      const host = state.host(c.host);
      if (!host || host.state === "down") continue;
      const lastHeard = Math.max(state.lastReportOf(name) ?? 0, c.createdMs);
      if (host.lastSeenUnixMs - lastHeard < silentAfter) continue;
      if (this.ctx.locks.actionOf(name) !== undefined || !this.backoff.due(`lost/${name}`, now)) continue;
      silent.push(name);
    }
    for (const name of silent) {
      // Awaits below let the state change: look again before acting.
      const c = getContainer(this.ctx.store.db, name);
      if (!c || !SETTLED.has(c.state) || this.ctx.locks.actionOf(c.name) !== undefined) continue;
      const host = getHost(this.ctx.store.db, c.host);
      if (!host || host.state === "down") continue;
      const key = `lost/${c.name}`;
      try {
        await this.ctx.agents.of(host).inspect(refOf(c));
        // Still there, only unreported (a backend whose usage read leaves it out): ask again later.
        this.backoff.later(key, now, RECHECK_PRESENT_MS);
      } catch (err) {
        if (!isCode(err, "not_found")) {
          this.backoff.failed(key, now);
          continue;
        }
        if (this.ctx.locks.actionOf(c.name) !== undefined) continue;
        this.ctx.store.tx(() => {
          markLost(this.ctx.store.db, c.name);
          releasePlacement(this.ctx.store.db, c.name);
          this.ctx.store.emit(SUBJECTS.containerLost, { container: c.name, host: c.host, wasState: c.state });
        });
        this.ctx.log.warn({ container: c.name, host: c.host }, "container vanished from its host: marked lost, reservation freed");
      }
    }
  }

  /** A container that should run and does not is started (the source after a failed rollback, a host back). */
  private async startWanted(now: number): Promise<void> {
    const wanted: string[] = [];
    let seen = 0;
    for (const [name, c] of this.ctx.store.state.containers()) {
      if (++seen % SLICE === 0) await yieldLoop();
      if (c.desired === "running" && (c.state === "stopped" || c.state === "error")) wanted.push(name);
    }
    for (const name of wanted) {
      const c = getContainer(this.ctx.store.db, name);
      if (!c || c.desiredState !== "running" || (c.state !== "stopped" && c.state !== "error")) continue;
      if (this.ctx.locks.actionOf(c.name) !== undefined) continue;
      const host = getHost(this.ctx.store.db, c.host);
      const key = `start/${c.name}`;
      if (!host || host.state === "down" || !this.backoff.due(key, now)) continue;
      try {
        await startContainer(this.ctx, c.name);
        this.backoff.succeeded(key);
        this.ctx.log.info({ container: c.name, host: c.host }, "reconciler started a container that should run");
      } catch (err) {
        this.backoff.failed(key, now);
        // The next attempt starts from a fresh channel: a failed one can keep failing after the agent is back.
        if (isCode(err, "unavailable", "deadline_exceeded")) this.ctx.agents.renew(host);
        this.ctx.log.warn({ container: c.name, host: c.host, err: messageOf(err) }, "reconciler could not start a container that should run");
      }
    }
  }
}
