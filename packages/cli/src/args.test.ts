import { test } from "node:test";
import assert from "node:assert/strict";
import { formatFlagHelp, parseArgs, type FlagSpec } from "./args.js";
import { UsageError } from "./usage-error.js";

const SPECS: FlagSpec[] = [
  { name: "memory", kind: "string", value: "SIZE", help: "memory limit" },
  { name: "env", kind: "list", value: "K=V", help: "env var" },
  { name: "force", kind: "boolean", short: "f", help: "force" },
  { name: "no-start", kind: "boolean", help: "do not start" },
  { name: "help", kind: "boolean", short: "h", help: "help" },
];

test("reads --x value, --x=value, booleans and repeated list flags, keeping positionals in order", () => {
  const a = parseArgs(["c1", "--memory", "512M", "--env=A=1", "--env", "B=2", "-f", "--no-start", "extra"], SPECS);
  assert.deepEqual(a.positionals, ["c1", "extra"]);
  assert.equal(a.string("memory"), "512M");
  assert.deepEqual(a.list("env"), ["A=1", "B=2"]);
  assert.equal(a.bool("force"), true);
  assert.equal(a.bool("no-start"), true);
  assert.equal(a.bool("help"), false);
  assert.equal(a.rest, undefined);
});

test("everything after -- passes through untouched, flags included", () => {
  const a = parseArgs(["c1", "--env", "X=1", "--", "sh", "-c", "echo --memory", "--force"], SPECS);
  assert.deepEqual(a.positionals, ["c1"]);
  assert.deepEqual(a.rest, ["sh", "-c", "echo --memory", "--force"]);
  assert.equal(a.bool("force"), false);
});

test("without --, restAfterPositionals hands the words after NAME to the command (docker exec style)", () => {
  const a = parseArgs(["--env", "A=1", "c1", "ls", "-l", "--force"], SPECS, { restAfterPositionals: 1 });
  assert.deepEqual(a.positionals, ["c1"]);
  assert.deepEqual(a.rest, ["ls", "-l", "--force"]);
  assert.deepEqual(a.list("env"), ["A=1"]);
  // With --, flags between NAME and -- are still ours.
  const b = parseArgs(["c1", "--env", "A=1", "--", "ls"], SPECS, { restAfterPositionals: 1 });
  assert.deepEqual(b.rest, ["ls"]);
  assert.deepEqual(b.list("env"), ["A=1"]);
});

test("unknown flags, missing values and bad boolean values are usage errors naming the flag", () => {
  assert.throws(() => parseArgs(["--bogus"], SPECS), (e) => e instanceof UsageError && e.message === "unknown flag --bogus");
  assert.throws(() => parseArgs(["-x"], SPECS), /unknown flag -x/);
  assert.throws(() => parseArgs(["--memory"], SPECS), /flag --memory needs a value/);
  assert.throws(() => parseArgs(["--memory", "--force"], SPECS), /flag --memory needs a value/);
  assert.throws(() => parseArgs(["--force=maybe"], SPECS), /flag --force takes no value or true\/false/);
});

test("a value may begin with a single dash; --flag=false turns a boolean off", () => {
  const a = parseArgs(["--memory", "-1", "--force=false", "-5"], SPECS);
  assert.equal(a.string("memory"), "-1");
  assert.equal(a.bool("force"), false);
  assert.deepEqual(a.positionals, ["-5"]);
});

test("positional() and noMorePositionals() report what is missing or extra", () => {
  const a = parseArgs(["c1", "c2"], SPECS);
  assert.equal(a.positional(0, "container name"), "c1");
  assert.throws(() => a.positional(2, "container name"), /missing container name/);
  assert.throws(() => a.noMorePositionals(1), /unexpected argument "c2"/);
});

test("flag help is aligned and marks repeatable flags", () => {
  const lines = formatFlagHelp(SPECS.slice(0, 3));
  assert.deepEqual(lines, [
    "      --memory SIZE   memory limit",
    "      --env K=V       env var (repeatable)",
    "  -f, --force         force",
  ]);
});
