import { test } from "node:test";
import assert from "node:assert/strict";
import { Metadata } from "@grpc/grpc-js";
import { parseRole, parseTtl, tokenState } from "./tokens.js";
import { bearerToken } from "../rpc/bearer.js";

test("TTLs need a unit; bad ones say what is expected", () => {
  assert.equal(parseTtl("90s"), 90);
  assert.equal(parseTtl("15m"), 900);
  assert.equal(parseTtl("12h"), 43_200);
  assert.equal(parseTtl("30d"), 2_592_000);
  assert.equal(parseTtl("2w"), 1_209_600);
  for (const bad of ["5", "0d", "-1h", "1.5h", "1y", "", "h"]) {
    assert.throws(() => parseTtl(bad), { code: "invalid_argument", message: `invalid ttl "${bad}": expected a positive number with a unit s, m, h, d or w, such as 12h or 30d` });
  }
});

test("roles are admin or read-only; a token's state follows its revocation and expiry", () => {
  assert.equal(parseRole("read-only"), "read-only");
  assert.throws(() => parseRole("readonly"), { message: 'unknown role "readonly": expected admin or read-only' });
  const t = { id: "a", role: "admin" as const, createdUnixMs: 1, expiresUnixMs: 0, revokedUnixMs: 0 };
  assert.equal(tokenState(t, 10), "active");
  assert.equal(tokenState({ ...t, expiresUnixMs: 10 }, 10), "expired");
  assert.equal(tokenState({ ...t, expiresUnixMs: 11 }, 10), "active");
  assert.equal(tokenState({ ...t, expiresUnixMs: 5, revokedUnixMs: 3 }, 10), "revoked");
});

test("the bearer header: absent, well-formed, or malformed with a reason", () => {
  const md = (...values: string[]) => {
    const m = new Metadata();
    for (const v of values) m.add("authorization", v);
    return m;
  };
  assert.equal(bearerToken(md()), undefined);
  assert.equal(bearerToken(md("Bearer corral_abc")), "corral_abc");
  assert.equal((bearerToken(md("bearer x")) as Error).message, 'the authorization header must read "Bearer TOKEN"');
  assert.equal((bearerToken(md("Bearer ")) as Error).message, 'the authorization header must read "Bearer TOKEN"');
  assert.equal((bearerToken(md("Basic dXNlcjpwdw==")) as Error).message, 'the authorization header must read "Bearer TOKEN"');
  assert.equal((bearerToken(md("Bearer a", "Bearer b")) as Error).message, "more than one authorization header");
});
