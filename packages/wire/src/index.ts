export * from "./domain/types.js";
export * from "./domain/errors.js";
export * from "./domain/validate.js";
export * from "./domain/tokens.js";
export { AgentClient } from "./rpc/agent-client.js";
export { ControllerClient, RegistryClient, type ControllerClientOptions } from "./rpc/controller-client.js";
export { bearerToken } from "./rpc/bearer.js";
export { rpcName, rpcNames } from "./rpc/rpc-names.js";
export { AgentServiceDefinition, agentServiceImplementation, type AgentHandlers } from "./rpc/agent-server.js";
export {
  ControllerServiceDefinition,
  RegistryServiceDefinition,
  controllerServiceImplementation,
  registryServiceImplementation,
  type ControllerHandlers,
  type RegistryHandlers,
} from "./rpc/controller-server.js";
export { SERVER_OPTIONS, TLS_SERVER_NAME, serverCredentials, clientCredentials, checkServerIdentity, type ClientTls, type ExpectedServer } from "./rpc/channel.js";
export { agentAccess } from "./rpc/agent-server.js";
export type { Authorize } from "./rpc/controller-server.js";
export {
  CONTROLLER_IDENTITY,
  describeIdentity,
  identityOfCertificate,
  identityUri,
  requireIdentity,
  type Identity,
  type IdentityKind,
  type Peer,
} from "./rpc/identity.js";
export {
  certFingerprint,
  createCertificateAuthority,
  createCertificateRequest,
  issueCredentials,
  issueFromRequest,
  normalSerial,
  verifyIssued,
  type CertificateAuthority,
  type IssuedCertificate,
  type TlsCredentials,
} from "./pki/certs.js";
export { Reverter, type Undo } from "./support/reverter.js";
export { moveInto } from "./support/tree-move.js";
export { withDeadline } from "./support/deadline.js";
export { splitHeader, dataOf, noInput } from "./rpc/iter.js";
export { receivedAt } from "./rpc/received-at.js";
export { fuzzService, type FuzzReport } from "./rpc/fuzz.js";
export { mulberry32 } from "./support/prng.js";
export {
  ADMIN_IDENTITY,
  clusterPaths,
  hostPaths,
  initClusterPki,
  loadClusterPki,
  privateDir,
  readAdminCredentials,
  readHostCredentials,
  writeHostCredentials,
  writeNew,
  type ClusterPaths,
  type ClusterPki,
  type HostPaths,
} from "./pki/key-files.js";
export { formatJoinToken, parseJoinToken, type ParsedJoinToken } from "./pki/join-token.js";
export { packageVersion } from "./support/package-version.js";
export { parseListen, serveMetrics, type MetricsEndpoint, type MetricsSource } from "./support/metrics-http.js";
export { parsePrometheusText, sampleValue, type Sample } from "./support/prometheus-text.js";
export * from "./domain/events.js";
export { isNotServed } from "./rpc/adapters.js";
