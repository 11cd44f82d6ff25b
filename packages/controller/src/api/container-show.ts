// ct show: the stored container, with how it last ended (exit code, time, the runtime's error and
// the tail of its log) fetched from its agent, which alone can read the runtime. A host that is
// down or slow costs ct show at most SHOW_INSPECT_MS and leaves that part out.
import type { Container, ContainerStatus } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getHost } from "../store/hosts.js";
import { refOf, requireContainer } from "./lookup.js";

const SHOW_INSPECT_MS = 3000;

export async function showContainer(ctx: ControllerContext, name: string): Promise<Container> {
  const c = requireContainer(ctx, name);
  const host = c.host ? getHost(ctx.store.db, c.host) : undefined;
  if (!host || host.state === "down") return c;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), SHOW_INSPECT_MS);
  });
  try {
    const st: ContainerStatus | undefined = await Promise.race([ctx.agents.forHost(c.host).inspect(refOf(c)), late]);
    return st?.lastExit ? { ...c, lastExit: st.lastExit } : c;
  } catch {
    return c; // not there yet (creating) or gone: what the controller knows is the answer
  } finally {
    clearTimeout(timer);
  }
}
