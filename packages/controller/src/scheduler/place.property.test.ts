// Properties of placement over random clusters and asks (fast-check): no host is ever overcommitted,
// constraints and anti-affinity always hold, and the same seed over the same state gives the same plan.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { place, NoPlacementError } from "./place.js";
import { checkHost, cpuRoom, fits, memoryRoom } from "./filters.js";
import type { Constraint, HostSnapshot, PlacementAsk } from "./types.js";

const GiB = 1024 ** 3;
const ZONES = ["a", "b", "c"];

interface SimHost extends HostSnapshot {
  labels: Record<string, string>;
  groups: Map<string, number>;
  overcommit: number;
  diskBytes: number;
  reservedDiskBytes: number;
}

const hostArb = fc.record({
  cpus: fc.integer({ min: 1, max: 64 }),
  memGiB: fc.integer({ min: 1, max: 256 }),
  diskGiB: fc.constantFrom(0, 10, 100, 1000),
  zone: fc.constantFrom(...ZONES),
  overcommit: fc.constantFrom(1, 1, 1.5, 2),
  state: fc.constantFrom("ready", "ready", "ready", "cordoned", "down" as const),
  docker: fc.boolean(),
});

const askArb = fc.record({
  memGiB: fc.constantFrom(0, 0.25, 0.5, 1, 2, 4, 16),
  cpus: fc.constantFrom(0, 0.5, 1, 2, 4),
  diskGiB: fc.constantFrom(0, 0, 1, 5, 50),
  backend: fc.constantFrom("lxc", "lxc", "docker" as const),
  constraint: fc.option(fc.record({ key: fc.constant("zone"), op: fc.constantFrom("=", "!=" as const), value: fc.constantFrom(...ZONES) }), { nil: undefined }),
  group: fc.option(fc.constantFrom("web", "db"), { nil: undefined }),
  algorithm: fc.constantFrom("binpack", "spread" as const),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

type HostSpec = typeof hostArb extends fc.Arbitrary<infer T> ? T : never;

function cluster(specs: HostSpec[]): SimHost[] {
  return specs.map((s, i) => ({
    name: `h${i}`,
    state: s.state,
    backends: [
      { name: "lxc", available: true, reason: "", capabilities: [] },
      { name: "docker", available: s.docker, reason: "", capabilities: [] },
    ],
    cpus: s.cpus,
    memoryBytes: s.memGiB * GiB,
    reservedMemoryBytes: 0,
    reservedCpus: 0,
    diskBytes: s.diskGiB * GiB,
    reservedDiskBytes: 0,
    labels: { zone: s.zone },
    groups: new Map(),
    overcommit: s.overcommit,
  }));
}

const holds = (c: Constraint, labels: Record<string, string>) => (c.op === "=" ? labels[c.key] === c.value : labels[c.key] !== c.value);

test("over random clusters and asks: no overcommit, constraints and anti-affinity hold, a seed replays", () => {
  fc.assert(
    fc.property(fc.array(hostArb, { minLength: 1, maxLength: 40 }), fc.array(askArb, { minLength: 1, maxLength: 120 }), (hs, asks) => {
      const hosts = cluster(hs);
      asks.forEach((a, i) => {
        const ask: PlacementAsk = {
          name: `c${i}`,
          backend: a.backend,
          memoryBytes: Math.round(a.memGiB * GiB),
          cpus: a.cpus,
          diskBytes: a.diskGiB * GiB,
          constraints: a.constraint ? [a.constraint] : [],
          antiAffinity: a.group,
        };
        let plan;
        try {
          plan = place(hosts, ask, { seed: a.seed, algorithm: a.algorithm, sampleLimit: 5 });
        } catch (err) {
          assert.ok(err instanceof NoPlacementError);
          // Nothing fits: every host was visited and each verdict names its filter.
          assert.equal(err.verdicts.length, hosts.length);
          for (const v of err.verdicts) assert.ok(v.filter !== null, `${v.host} was feasible yet nothing was placed`);
          return;
        }
        const again = place([...hosts].reverse(), ask, { seed: a.seed, algorithm: a.algorithm, sampleLimit: 5 });
        assert.deepEqual(again, plan, "the same seed and state give the same plan");
        const h = hosts.find((x) => x.name === plan.host) as SimHost;
        assert.equal(h.state, "ready");
        if (ask.constraints?.[0]) assert.ok(holds(ask.constraints[0], h.labels), "constraint holds");
        if (ask.antiAffinity) {
          assert.equal(h.groups.get(ask.antiAffinity) ?? 0, 0, "anti-affinity holds");
          h.groups.set(ask.antiAffinity, 1);
        }
        h.reservedMemoryBytes += ask.memoryBytes;
        h.reservedCpus += ask.cpus;
        h.reservedDiskBytes += ask.diskBytes ?? 0;
        // A host of unknown disk size (0) is not judged on disk.
        if (h.diskBytes > 0) assert.ok(h.reservedDiskBytes <= h.diskBytes * h.overcommit, `disk overcommitted on ${h.name}`);
        assert.ok(h.reservedMemoryBytes <= h.memoryBytes * h.overcommit, `memory overcommitted on ${h.name}`);
        assert.ok(h.reservedCpus <= h.cpus * h.overcommit + 1e-9, `cpus overcommitted on ${h.name}`);
      });
    }),
    { numRuns: 200 },
  );
});

test("skipping hosts by their packed room gives the same plans as reading every host", () => {
  fc.assert(
    fc.property(fc.array(hostArb, { minLength: 1, maxLength: 40 }), fc.array(askArb, { minLength: 1, maxLength: 120 }), (hs, asks) => {
      const hosts = cluster(hs).sort((a, b) => (a.name < b.name ? -1 : 1));
      asks.forEach((a, i) => {
        const ask: PlacementAsk = { name: `c${i}`, backend: a.backend, memoryBytes: Math.round(a.memGiB * GiB), cpus: a.cpus, diskBytes: a.diskGiB * GiB, constraints: a.constraint ? [a.constraint] : [] };
        const room = { memory: Float64Array.from(hosts, memoryRoom), cpus: Float64Array.from(hosts, cpuRoom) };
        const run = (packed: boolean) => {
          try {
            return place(hosts, ask, { seed: a.seed, algorithm: a.algorithm, sampleLimit: 3, sorted: true, room: packed ? room : undefined });
          } catch (err) {
            return err as NoPlacementError;
          }
        };
        const plain = run(false);
        const skipping = run(true);
        if (plain instanceof Error) return assert.deepEqual((skipping as NoPlacementError).verdicts, plain.verdicts);
        assert.ok(!(skipping instanceof Error));
        assert.deepEqual({ ...skipping }, { ...plain });
        const h = hosts.find((x) => x.name === plain.host) as SimHost;
        h.reservedMemoryBytes += ask.memoryBytes;
        h.reservedCpus += ask.cpus;
        h.reservedDiskBytes += ask.diskBytes ?? 0;
      });
    }),
    { numRuns: 200 },
  );
});

test("explain visits every host and does not change the choice", () => {
  fc.assert(
    fc.property(fc.array(hostArb, { minLength: 1, maxLength: 60 }), askArb, (hs, a) => {
      const hosts = cluster(hs);
      const ask: PlacementAsk = { name: "c", backend: a.backend, memoryBytes: Math.round(a.memGiB * GiB), cpus: a.cpus };
      const run = (explain: boolean) => {
        try {
          return place(hosts, ask, { seed: a.seed, algorithm: a.algorithm, sampleLimit: 3, explain });
        } catch (err) {
          return err as NoPlacementError;
        }
      };
      const quick = run(false);
      const full = run(true);
      if (quick instanceof Error) return assert.ok(full instanceof Error);
      assert.ok(!(full instanceof Error));
      assert.equal(full.host, quick.host);
      assert.equal(full.verdicts.length, hosts.length);
    }),
    { numRuns: 200 },
  );
});

test("the quick yes/no (fits) agrees with the named filters (checkHost) on every host and ask", () => {
  const portArb = fc.constantFrom("80/tcp", "80/udp", "8080/tcp");
  const publishedArb = fc.array(fc.tuple(portArb, fc.constantFrom("c", "other")), { maxLength: 2 });
  fc.assert(
    fc.property(hostArb, askArb, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.option(fc.constantFrom(0, 2, 20, 500), { nil: undefined }), fc.boolean(), publishedArb, fc.uniqueArray(portArb, { maxLength: 2 }), (hs, a, memPct, cpuPct, diskPct, freeGiB, grouped, published, asked) => {
      const [h] = cluster([hs]) as [SimHost];
      h.reservedMemoryBytes = Math.floor((h.memoryBytes * h.overcommit * memPct) / 100);
      h.reservedCpus = (h.cpus * h.overcommit * cpuPct) / 100;
      h.reservedDiskBytes = Math.floor((h.diskBytes * h.overcommit * diskPct) / 100);
      if (freeGiB !== undefined) h.diskFreeBytes = freeGiB * GiB;
      if (grouped && a.group) h.groups.set(a.group, 1);
      const ask: PlacementAsk = {
        name: "c",
        backend: a.backend,
        memoryBytes: Math.round(a.memGiB * GiB),
        cpus: a.cpus,
        diskBytes: a.diskGiB * GiB,
        constraints: a.constraint ? [a.constraint] : [],
        antiAffinity: a.group,
        ports: asked,
      };
      // Ports other containers (or this one, when it moves) publish on the host.
      const ports = new Map<string, string[]>();
      for (const [p, by] of published) ports.set(p, [...(ports.get(p) ?? []), by]);
      const withPorts = { ...h, ports };
      assert.equal(fits(withPorts, ask), checkHost(withPorts, ask) === undefined);
    }),
    { numRuns: 2000 },
  );
});
