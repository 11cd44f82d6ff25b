// Events as `corral events` shows them: one message of the controller's JetStream stream.
import { invalidArgument } from "./errors.js";

export interface CorralEvent {
  /** The stream sequence: stable, gap-free for what the outbox published, usable with --since. */
  seq: number;
  /** corral.container.started */
  subject: string;
  atUnixMs: number;
  data: unknown;
}

export interface EventQuery {
  /** First stream sequence; 0: from sinceUnixMs, or the start of the stream. */
  sinceSeq: number;
  sinceUnixMs: number;
  /** NATS subject filters; empty: every event. */
  subjects: string[];
  follow: boolean;
}

/** `--type container.started` → corral.container.started; `--type container` → corral.container.>. */
export function subjectForType(type: string): string {
  const t = type.trim().replace(/^corral\./, "");
  if (!/^[a-z_]+(\.[a-z_]+)?(\.>)?$/.test(t)) {
    throw invalidArgument(`invalid event type "${type}": expected a kind such as container or container.started`);
  }
  return t.includes(".") ? `corral.${t}` : `corral.${t}.>`;
}

/** corral.container.started → container.started */
export const typeOfSubject = (subject: string): string => subject.replace(/^corral\./, "");
