// `corral NOUN VERB [flags] [args]`: finds the command, parses its flags, runs it, and turns any
// error into one line on stderr with exit code 2 (usage) or 1 (everything else).
import { CorralError } from "@corral/wire";
import { formatFlagHelp, parseArgs, type Args } from "./args.js";
import { GLOBAL_FLAGS } from "./global-flags.js";
import type { CommandModule, Context, Io } from "./command.js";
import { COMMANDS, NOUNS, findCommand, findTopLevel, firstWords, isTopLevel, verbOf, verbWordsOf, verbsOf } from "./commands/index.js";
import { closest, didYouMean } from "./did-you-mean.js";
import { resolveController } from "./config.js";
import { resolveClientTls } from "./tls-config.js";
import { Connection } from "./connection.js";
import { Feedback, canRedraw } from "./feedback.js";
import { refusalMessage, tokenFor } from "./credentials.js";
import { oneLine } from "./present.js";
import { UsageError } from "./usage-error.js";
import { cliVersion } from "./version.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export { GLOBAL_FLAGS };

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let connection: Connection | undefined;
  let command: CommandModule | undefined;
  try {
    const { words, others, firstWordAt } = splitWords(argv);
    const [noun, verb] = words;
    if (noun === undefined || noun === "help") {
      const args = parseArgs(others, GLOBAL_FLAGS);
      if (args.bool("version")) return write(io, `corral ${cliVersion()}\n`);
      const topic = [...words.slice(1), ...args.positionals];
      return write(io, topic.length ? topicHelp(topic) : mainHelp());
    }
    let flagsAndArgs = others;
    const top = findTopLevel(noun);
    if (top) {
      command = top;
      // A one-word command: everything after its word is its own (the second "word" included).
      flagsAndArgs = [...argv.slice(0, firstWordAt), ...argv.slice(firstWordAt + 1)];
    } else {
      if (!(noun in NOUNS)) throw new UsageError(`unknown command "${noun}"${didYouMean(noun, firstWords(), quoted)} (see corral --help)`);
      if (verb === undefined) {
        const args = parseArgs(others, GLOBAL_FLAGS);
        if (args.bool("help")) return write(io, nounHelp(noun));
        throw new UsageError(`missing command after "corral ${noun}": expected ${verbsOf(noun).map(verbOf).join(", ")} (see corral ${noun} --help)`);
      }
      command = findCommand(noun, verb);
      if (!command) {
        // Suggest each command once, by its own verb ("lst" is as near "ls" as "list").
        const near = [...new Set(closest(verb, verbWordsOf(noun)).map((v) => verbOf(findCommand(noun, v) as CommandModule)))];
        const hint = near.length ? `; did you mean ${near.map((v) => `"corral ${noun} ${v}"`).join(" or ")}?` : "";
        throw new UsageError(`unknown command "corral ${noun} ${verb}"${hint} (see corral ${noun} --help)`);
      }
    }
    const others2 = flagsAndArgs;
    let args: Args;
    try {
      args = parseArgs(others2, [...GLOBAL_FLAGS, ...(command.flags ?? [])], command.parse);
    } catch (err) {
      if (others2.includes("--help") || others2.includes("-h")) return write(io, commandHelp(command));
      if (err instanceof UsageError) throw new UsageError(`${err.message} (see corral ${command.name} --help)`);
      throw err;
    }
    if (args.bool("help")) return write(io, commandHelp(command));
    const ctx = makeContext(args, io, () => {
      connection ??= new Connection(resolveController(args.string("controller"), io.env).address, () => resolveClientTls(io.env), {
        token: tokenFor(args, io),
        feedback: new Feedback(canRedraw(io.stderr, io.env) && !command?.hidden ? io.stderr : undefined),
      });
      return connection;
    });
    const code = await command.run(ctx);
    return typeof code === "number" ? exitCodeOf(code) : EXIT_OK;
  } catch (err) {
    const message =
      refusalMessage(err, connection?.token !== undefined) ?? (connection ? connection.explain(messageOf(err)) : messageOf(err));
    io.stderr.write(`corral: ${message}\n`);
    if (io.env.CORRAL_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  } finally {
    connection?.close();
  }
}

/** Global flags whose value is the next word (so it is not taken for the noun or verb). */
const VALUE_FLAGS = new Set(GLOBAL_FLAGS.filter((f) => f.kind !== "boolean").map((f) => `--${f.name}`));

/** Noun and verb are the first two words that are neither flags nor the value of a global flag. */
function splitWords(argv: readonly string[]): { words: string[]; others: string[]; firstWordAt: number } {
  const words: string[] = [];
  const others: string[] = [];
  let firstWordAt = -1;
  let i = 0;
  for (; i < argv.length && words.length < 2; i++) {
    const tok = argv[i] as string;
    if (tok === "--") break;
    if (!tok.startsWith("-")) {
      if (!words.length) firstWordAt = i;
      words.push(tok);
      continue;
    }
    others.push(tok);
    if (VALUE_FLAGS.has(tok) && i + 1 < argv.length) others.push(argv[++i] as string);
  }
  // After `corral help`, the following words are the help topic, not flags to parse.
  return { words, others: [...others, ...argv.slice(i)], firstWordAt };
}

function makeContext(args: Args, io: Io, connection: () => Connection): Context {
  return {
    args,
    json: args.bool("json"),
    io,
    colour: io.stdout.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== "dumb",
    connection,
    print: (line) => void io.stdout.write(`${line}\n`),
    printJson: (doc) => void io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`),
  };
}

export function messageOf(err: unknown): string {
  if (err instanceof CorralError || err instanceof Error) return oneLine(err.message) || err.name;
  return oneLine(String(err));
}

/** Exit codes are 0-255; anything else the agent reports (such as -1 for "killed") becomes 1. */
const exitCodeOf = (code: number) => (Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT_FAILURE);

function write(io: Io, text: string): number {
  io.stdout.write(text);
  return EXIT_OK;
}

const quoted = (w: string) => `"corral ${w}"`;

export function mainHelp(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.name.length));
  const lines = [
    "corral drives containers across many hosts (LXC, Docker, LXD, OpenVZ).",
    "",
    `Usage: corral NOUN VERB [flags] [args]   or   corral ${COMMANDS.filter((c) => isTopLevel(c) && !c.hidden).map((c) => c.name).join("|")} [flags] [args]`,
    "",
    "Commands:",
    ...shown.map((c) => `  ${c.name.padEnd(width)}   ${c.synopsis}${aliasNote(c)}`),
    "",
    "Global flags (accepted by every command):",
    ...formatFlagHelp(GLOBAL_FLAGS),
    "",
    "The controller address comes from --controller, then $CORRAL_CONTROLLER, then",
    '${CORRAL_CONFIG:-~/.config/corral/config.json} ({"controller":"127.0.0.1:7400","token":"…"});',
    "the bearer token from --token, then $CORRAL_TOKEN, then that file's \"token\".",
    "Exit codes: 0 success, 1 failure, 2 usage error; `ct exec` exits with the command's code.",
    "Run `corral NOUN --help` or `corral NOUN VERB --help` for more.",
  ];
  return `${lines.join("\n")}\n`;
}

export function nounHelp(noun: string): string {
  const verbs = verbsOf(noun);
  const width = Math.max(...verbs.map((c) => c.name.length));
  const lines = [
    `corral ${noun}: ${NOUNS[noun] ?? ""}`,
    "",
    `Usage: corral ${noun} VERB [flags] [args]`,
    "",
    "Commands:",
    ...verbs.map((c) => `  ${c.name.padEnd(width)}   ${c.synopsis}${aliasNote(c)}`),
  ];
  return `${lines.join("\n")}\n`;
}

const aliasNote = (c: CommandModule) => (c.aliases?.length ? ` (also: ${c.aliases.join(", ")})` : "");

export function commandHelp(c: CommandModule): string {
  const lines = [c.synopsis, "", c.help];
  if (c.aliases?.length) lines.push("", `Aliases: ${c.aliases.map((a) => `corral ${[...c.name.split(" ").slice(0, -1), a].join(" ")}`).join(", ")}`);
  if (c.examples?.length) lines.push("", "Examples:", ...c.examples.map((e) => `  ${e}`));
  if (c.flags?.length) lines.push("", "Flags:", ...formatFlagHelp(c.flags));
  lines.push("", "Global flags:", ...formatFlagHelp(GLOBAL_FLAGS));
  return `${lines.join("\n")}\n`;
}

function topicHelp(topic: readonly string[]): string {
  const [noun, verb] = topic;
  const top = noun === undefined ? undefined : findTopLevel(noun);
  if (top) return commandHelp(top);
  if (noun === undefined || !(noun in NOUNS)) throw new UsageError(`no help for "${topic.join(" ")}" (see corral --help)`);
  if (verb === undefined) return nounHelp(noun);
  const c = findCommand(noun, verb);
  if (!c) throw new UsageError(`no help for "${topic.join(" ")}" (see corral ${noun} --help)`);
  return commandHelp(c);
}
