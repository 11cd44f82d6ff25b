// Lookups shared by the handlers, each failing with the sentence a user should see.
import { notFound, type Container } from "@corral/wire";
import type { ControllerContext } from "../context.js";
import { getContainer } from "../store/containers.js";

export function requireContainer(ctx: ControllerContext, name: string): Container {
  const c = getContainer(ctx.store.db, name);
  if (!c) throw notFound(`container "${name}" not found`);
  return c;
}

export const refOf = (c: Container) => ({ name: c.name, backend: c.backend });
