// Target side of the data connection (data-link.ts): the header frame becomes the same
// TransferHeader the gRPC stream carries, so every check of ReceiveManager applies unchanged (token
// bound to migration, container and both hosts, one use, size cap, staging expiry, tar guard).
import type { TLSSocket } from "node:tls";
import { CorralError, parseBackend, type ArchiveChunk, type TransferHeader } from "@corral/wire";
import type { ReceiveManager } from "./receiver.js";
import { FRAME, dataFrames, readControl, writeControl } from "./data-link.js";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** A header from another host, reduced to the fields and types a TransferHeader has. */
export function headerOf(v: Record<string, unknown>): TransferHeader {
  const ref = (typeof v.ref === "object" && v.ref !== null ? v.ref : {}) as Record<string, unknown>;
  return {
    token: str(v.token),
    ref: { name: str(ref.name), backend: str(ref.backend) as TransferHeader["ref"]["backend"] },
    compression: str(v.compression) as TransferHeader["compression"],
    totalBytes: typeof v.totalBytes === "number" ? v.totalBytes : -1,
    sourceHost: str(v.sourceHost),
    archiveFormat: str(v.archiveFormat),
  };
}

export function dataConnectionHandler(receiver: ReceiveManager) {
  return async (sock: TLSSocket, peerHost: string): Promise<void> => {
    const { kind, value } = await readControl(sock, "the transfer header");
    if (kind !== FRAME.header) throw new CorralError("invalid_argument", "a data connection must open with a header frame");
    const mode = str(value.mode);
    if (mode === "probe") {
      // A dry run's check (peer-probe.ts): the handshake got here; say what staging has free.
      const stagingFreeBytes = await receiver.stagingFree(parseBackend(str(value.targetBackend)));
      writeControl(sock, FRAME.result, { stagingFreeBytes });
      return;
    }
    const header = headerOf(value);
    // A pre-copy pass: after admission the connection is rsync's own (tree-sync.ts).
    if (mode === "rsync") return receiver.syncTree(header, peerHost, sock, () => writeControl(sock, FRAME.admitted, {}));
    if (mode !== "archive") throw new CorralError("invalid_argument", `unknown data connection mode "${mode.slice(0, 40)}"`);
    async function* chunks(): AsyncGenerator<ArchiveChunk> {
      yield { kind: "header", header };
      for await (const p of dataFrames(sock)) {
        if (p.kind === "data") yield p;
        else {
          const bytes = p.value.bytes;
          yield { kind: "trailer", trailer: { sha256: str(p.value.sha256), bytes: typeof bytes === "number" ? bytes : -1 } };
        }
      }
    }
    const trailer = await receiver.receive(chunks(), peerHost, () => writeControl(sock, FRAME.admitted, {}));
    writeControl(sock, FRAME.result, trailer);
  };
}
