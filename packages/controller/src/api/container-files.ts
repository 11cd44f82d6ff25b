// ct cp and ct logs: byte streams relayed between the CLI and the container's agent. The
// controller holds no more than the chunks in flight: each side's gRPC flow control (drain on
// write, pull on read) carries back-pressure end to end.
import { checkCopyTarget, splitHeader, type CopyInChunk, type CopyInHeader, type LogsOptions } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { requireContainer } from "./lookup.js";

export async function copyIntoContainer(ctx: ControllerContext, chunks: AsyncIterable<CopyInChunk>): Promise<void> {
  const { header, rest } = await splitHeader<CopyInHeader, CopyInChunk>(chunks, "copy");
  checkCopyTarget(header.path, header.sourceName);
  const c = requireContainer(ctx, header.container);
  ctx.locks.assertFree(c.name);
  async function* relay(): AsyncGenerator<CopyInChunk> {
    yield { kind: "header", header: { ...header, container: c.name, backend: c.backend } };
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  }
  await ctx.agents.forHost(c.host).copyIn(relay());
}

export async function* copyOutOfContainer(ctx: ControllerContext, name: string, path: string, signal: AbortSignal): AsyncGenerator<Buffer> {
  checkCopyTarget(path);
  const c = requireContainer(ctx, name);
  ctx.locks.assertFree(name);
  for await (const data of ctx.agents.forHost(c.host).copyOut({ name: c.name, backend: c.backend }, path)) {
    if (signal.aborted) return;
    yield data;
  }
}

export async function* containerLogs(ctx: ControllerContext, name: string, opts: LogsOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
  const c = requireContainer(ctx, name);
  for await (const data of ctx.agents.forHost(c.host).logs({ name: c.name, backend: c.backend }, opts)) {
    if (signal.aborted) return;
    yield data;
  }
}
