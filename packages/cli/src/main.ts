// The `corral` executable: run, then exit once stdout has taken everything.
import { runCli } from "./cli.js";
import { getInterruptNote } from "./progress.js";

// `corral ct list | head -1`: a closed pipe is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
process.on("SIGINT", () => {
  // End a redrawn progress line first, so the message starts on its own line.
  process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}corral: ${getInterruptNote() ?? "interrupted"}\n`);
  process.exit(130);
});

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin });
// A call abandoned at its deadline may keep grpc-js busy; exit explicitly rather than hang.
process.stdout.write("", () => process.exit(code));
