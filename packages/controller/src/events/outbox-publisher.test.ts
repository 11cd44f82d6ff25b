// The outbox publisher against a real nats-server with JetStream, started by the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { pino } from "pino";
import { Store } from "../store/store.js";
import { countUnpublished } from "../store/outbox.js";
import { OutboxPublisher, type EventEnvelope } from "./outbox-publisher.js";
import { STREAM_NAME, SUBJECTS } from "./subjects.js";
import { waitFor } from "../test-support/cluster.js";
import { NATS_BIN, NatsServer } from "../test-support/nats-server.js";

function emit(store: Store, n: number, from: number): void {
  for (let i = from; i < from + n; i++) {
    store.tx(() => store.emit(SUBJECTS.containerCreated, { container: `c${i}` }));
  }
}

async function streamContents(jsm: JetStreamManager): Promise<EventEnvelope[]> {
  const info = await jsm.streams.info(STREAM_NAME);
  const out: EventEnvelope[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_NAME, { seq });
    out.push(m.json<EventEnvelope>());
  }
  return out;
}

test("events written while NATS is down all arrive, in order, once it comes up", { skip: NATS_BIN ? false : "nats-server binary not found on PATH" }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "corral-outbox-"));
  const store = Store.open(join(dir, "corral.db"));
  const nats = await NatsServer.create(join(dir, "nats"));
  const publisher = new OutboxPublisher(store, { servers: nats.url, log: pino({ level: "silent" }), pollMs: 500 });
  let nc: NatsConnection | undefined;
  t.after(async () => {
    await publisher.close();
    await nc?.close();
    await nats.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  publisher.start(); // before NATS exists
  emit(store, 5, 1);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(countUnpublished(store.db), 5, "rows wait in the outbox while NATS is away");

  await nats.restart();
  emit(store, 3, 6);
  await waitFor("outbox drained", () => (countUnpublished(store.db) === 0 ? true : undefined), 15_000);

  nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  const events = await streamContents(jsm);
  assert.deepEqual(
    events.map((e) => [e.id, e.subject, (e.data as { container: string }).container]),
    Array.from({ length: 8 }, (_, i) => [i + 1, "corral.container.created", `c${i + 1}`]),
  );
  const info = await jsm.streams.info(STREAM_NAME);
  assert.deepEqual(info.config.subjects, ["corral.>"]);
  assert.equal(info.config.storage, "file");

  // NATS goes away and comes back (same store dir): new rows wait, then follow in order.
  await nats.stop();
  emit(store, 2, 9);
  await nats.restart();
  await waitFor("outbox drained again", () => (countUnpublished(store.db) === 0 ? true : undefined), 20_000);
  await nc.close();
  nc = await connect({ servers: nats.url });
  const after = await streamContents(await nc.jetstreamManager());
  assert.deepEqual(after.map((e) => e.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
