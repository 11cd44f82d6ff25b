// `key=value` and `key!=value`, as typed on the command line and stored with a container.
import { invalidArgument } from "@corral/wire";
import type { Constraint } from "./types.js";

const KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

export function parseConstraint(text: string): Constraint {
  const m = /^([^=!]+)(!=|=)(.*)$/.exec(text);
  if (!m) throw invalidArgument(`constraint "${text}" must be key=value or key!=value`);
  const [, key = "", op, value = ""] = m;
  if (!KEY.test(key)) throw invalidArgument(`constraint "${text}": label key "${key}" is not valid (letters, digits, . _ / -)`);
  return { key, op: op === "!=" ? "!=" : "=", value };
}

export const formatConstraint = (c: Constraint): string => `${c.key}${c.op}${c.value}`;
