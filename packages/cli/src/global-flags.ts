// Flags every command accepts; kept apart from cli.ts so that commands (completion) can read them.
import type { FlagSpec } from "./args.js";

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: "controller", kind: "string", value: "ADDR", help: "controller address, e.g. 127.0.0.1:7400 (else $CORRAL_CONTROLLER, else the config file)" },
  { name: "token", kind: "string", value: "TOKEN", help: "bearer token (else $CORRAL_TOKEN, else the config file's \"token\"); other users can see flags in ps" },
  { name: "json", kind: "boolean", help: "print exactly one JSON document on stdout" },
  { name: "help", kind: "boolean", short: "h", help: "show help" },
  { name: "version", kind: "boolean", help: "print corral's version" },
];
