import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { StreamHead } from "./stream-head.js";

const drain = async (r: Readable): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

test("the head is read across chunks and put back in front of the rest", async () => {
  const input = Readable.from([Buffer.from("abc"), Buffer.from("defg"), Buffer.from("hij")]);
  const head = new StreamHead(input);
  assert.equal((await head.fill(5)).toString(), "abcdefg");
  assert.equal(head.done, false);
  assert.equal((await drain(head.rest())).toString(), "abcdefghij");
});

test("rest(offset) skips a header that was consumed; a short stream reports done", async () => {
  const head = new StreamHead(Readable.from([Buffer.from("HDRpayload")]));
  assert.equal((await head.fill(64)).length, 10);
  assert.equal(head.done, true);
  assert.equal((await drain(head.rest(3))).toString(), "payload");
});
