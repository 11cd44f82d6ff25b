export * from "./domain/types.js";
export * from "./domain/errors.js";
export * from "./domain/validate.js";
export * from "./domain/tokens.js";
export { AgentClient } from "./rpc/agent-client.js";
export { ControllerClient, RegistryClient, type ControllerClientOptions } from "./rpc/controller-client.js";
export { bearerToken } from "./rpc/bearer.js";
export { guardImplementation, rpcNames, type CallCheck, type CallInfo } from "./rpc/guard.js";
export { AgentServiceDefinition, agentServiceImplementation, type AgentHandlers } from "./rpc/agent-server.js";
export {
  ControllerServiceDefinition,
  RegistryServiceDefinition,
  controllerServiceImplementation,
  registryServiceImplementation,
  type ControllerHandlers,
  type RegistryHandlers,
} from "./rpc/controller-server.js";
export { SERVER_OPTIONS } from "./rpc/channel.js";
export { Reverter, type Undo } from "./support/reverter.js";
export { packageVersion } from "./support/package-version.js";
export { parseListen, serveMetrics, type MetricsEndpoint, type MetricsSource } from "./support/metrics-http.js";
export { parsePrometheusText, sampleValue, type Sample } from "./support/prometheus-text.js";
export * from "./domain/events.js";
