// Proto names of a service's methods, as the role table (controller auth/roles.ts) keys them.
import type { ServiceDefinition } from "@grpc/grpc-js";

/** The proto name of every method of a service: "/corral.controller.v1.ControllerService/ListHosts" → "ListHosts". */
export function rpcNames(definition: ServiceDefinition): string[] {
  return Object.values(definition).map((m) => m.path.slice(m.path.lastIndexOf("/") + 1));
}

/** A generated implementation's method key ("listHosts") as its proto name ("ListHosts"). */
export const rpcName = (method: string): string => method.charAt(0).toUpperCase() + method.slice(1);
