// The in-memory cluster state equals the state reloaded from SQLite after any sequence of store
// operations, including transactions that fail half-way (fast-check over a real SQLite file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { ContainerSpec } from "@corral/wire";
import { Store } from "./store.js";
import { ClusterState } from "./cluster-state.js";
import { deleteHost, setAdminState, setHostLabels, setOvercommit, upsertHost } from "./hosts.js";
import { deleteContainer, insertContainer, setContainerHost, setContainerState } from "./containers.js";
import { movePlacement, releaseMigration, reserveForMigration, reservePlacement, updatePlacement } from "./reservations.js";
import { insertMigration } from "./migrations.js";
import { setSetting } from "./settings.js";

const HOSTS = ["h1", "h2", "h3", "h4"];
const NAMES = ["c1", "c2", "c3", "c4", "c5", "c6"];

const op = fc.oneof(
  fc.record({ kind: fc.constant("host" as const), host: fc.constantFrom(...HOSTS), cpus: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant("create" as const),
    name: fc.constantFrom(...NAMES),
    host: fc.constantFrom(...HOSTS),
    mem: fc.integer({ min: 0, max: 4096 }),
    cpus: fc.constantFrom(0, 0.1, 0.25, 0.5, 1),
    disk: fc.constantFrom(0, 1 << 30, 5 << 30),
    group: fc.constantFrom("", "web", "db"),
  }),
  fc.record({ kind: fc.constant("rm" as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ kind: fc.constant("move" as const), name: fc.constantFrom(...NAMES), host: fc.constantFrom(...HOSTS) }),
  fc.record({ kind: fc.constant("limits" as const), name: fc.constantFrom(...NAMES), mem: fc.integer({ min: 0, max: 4096 }), cpus: fc.constantFrom(0, 0.3, 2), disk: fc.constantFrom(0, 2 << 30) }),
  fc.record({ kind: fc.constant("hold" as const), name: fc.constantFrom(...NAMES), host: fc.constantFrom(...HOSTS), id: fc.constantFrom("m1", "m2") }),
  fc.record({ kind: fc.constant("release" as const), id: fc.constantFrom("m1", "m2") }),
  fc.record({ kind: fc.constant("label" as const), host: fc.constantFrom(...HOSTS), zone: fc.constantFrom("a", "b") }),
  fc.record({ kind: fc.constant("admin" as const), host: fc.constantFrom(...HOSTS), state: fc.constantFrom("ready", "cordoned", "draining" as const) }),
  fc.record({ kind: fc.constant("ratio" as const), host: fc.constantFrom(...HOSTS), ratio: fc.constantFrom(1, 1.5) }),
  fc.record({ kind: fc.constant("setting" as const), value: fc.constantFrom("binpack", "spread") }),
  fc.record({ kind: fc.constant("hostrm" as const), host: fc.constantFrom(...HOSTS) }),
  fc.record({ kind: fc.constant("state" as const), name: fc.constantFrom(...NAMES), state: fc.constantFrom("running", "stopped", "migrating" as const) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const spec = (name: string, mem: number, cpus: number, disk: number): ContainerSpec => ({
  name,
  backend: "lxc",
  template: "busybox",
  image: "",
  limits: { memoryBytes: mem, cpus, diskBytes: disk },
  env: [],
  cmd: [],
  ports: [],
  labels: {},
});

function apply(store: Store, o: Op, step: number): void {
  const db = store.db;
  const s = store.state;
  switch (o.kind) {
    case "host":
      upsertHost(db, { name: o.host, address: "127.0.0.1:1", cpus: o.cpus, memoryBytes: 8 << 30, diskBytes: 1, diskFreeBytes: 1, backends: [], agentVersion: "t" }, step);
      return;
    case "create":
      if (!s.host(o.host) || s.hostOf(o.name) !== undefined) return;
      insertContainer(db, spec(o.name, o.mem, o.cpus, o.disk), o.host, "running", step, { seed: step, strategy: "binpack", constraints: [], antiAffinity: o.group });
      reservePlacement(db, o.host, o.name, { memoryBytes: o.mem, cpus: o.cpus, diskBytes: o.disk });
      return;
    case "rm":
      // As ct rm does, after any migration of it has been released.
      for (const id of ["m1", "m2"]) releaseMigrationOf(store, id, o.name);
      deleteContainer(db, o.name);
      return;
    case "move":
      if (!s.host(o.host) || s.hostOf(o.name) === undefined) return;
      setContainerHost(db, o.name, o.host);
      movePlacement(db, o.name, o.host);
      return;
    case "limits":
      updatePlacement(db, o.name, { memoryBytes: o.mem, cpus: o.cpus, diskBytes: o.disk });
      return;
    case "hold": {
      const from = s.hostOf(o.name);
      if (!s.host(o.host) || from === undefined) return;
      const exists = db.prepare("SELECT 1 FROM migrations WHERE id = ?").get(o.id);
      if (!exists) insertMigration(db, { id: o.id, container: o.name, backend: "lxc", sourceHost: from, targetHost: o.host, tokenSha256: "t", wasRunning: true, compression: "none", now: step });
      reserveForMigration(db, o.id, o.host, o.name, { memoryBytes: 100, cpus: 0.5, diskBytes: 3 << 30 });
      return;
    }
    case "release":
      releaseMigration(db, o.id);
      return;
    case "label":
      if (s.host(o.host)) setHostLabels(db, o.host, { zone: o.zone });
      return;
    case "admin":
      setAdminState(db, o.host, o.state);
      return;
    case "ratio":
      if (s.host(o.host)) setOvercommit(db, o.host, o.ratio);
      return;
    case "setting":
      setSetting(db, "strategy", o.value);
      return;
    case "state":
      setContainerState(db, o.name, o.state);
      return;
    case "hostrm":
      // As host rm does: only a host nothing refers to any more.
      if (s.host(o.host)?.containers === 0 && !db.prepare("SELECT 1 FROM reservations WHERE host = ?").get(o.host)) deleteHost(db, o.host);
      return;
  }
}

function releaseMigrationOf(store: Store, id: string, container: string): void {
  const row = store.db.prepare("SELECT container FROM reservations WHERE migration_id = ?").get(id) as { container: string } | undefined;
  if (row?.container === container) releaseMigration(store.db, id);
}

test("memory equals SQLite reloaded, after any sequence of operations and failed transactions", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-state-"));
  let run = 0;
  try {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(op, { minLength: 1, maxLength: 5 }), fc.boolean()), { maxLength: 40 }), (batches) => {
        const store = Store.open(join(dir, `s${run++}.db`));
        try {
          batches.forEach(([ops, fail], i) => {
            // Built between changes, so that reserve, patch and rollback keep it rather than rebuild it.
            store.state.room();
            try {
              store.tx(() => {
                ops.forEach((o, j) => apply(store, o, i * 10 + j));
                if (fail) throw new Error("the change failed half-way");
              });
            } catch (err) {
              if (!fail) throw err;
            }
          });
          const reloaded = ClusterState.load(store.db);
          assert.deepEqual(store.state.dump(), reloaded.dump());
          // Placement's packed room of each host, kept change by change, equals one built afresh.
          const packed = (st: ClusterState) => ({ memory: [...st.room().memory], cpus: [...st.room().cpus] });
          assert.deepEqual(packed(store.state), packed(reloaded));
        } finally {
          store.close();
        }
      }),
      { numRuns: 150 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
