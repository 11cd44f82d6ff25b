// Test support other packages use (exported as @corral/controller/test-support): a cluster's PKI made
// the way `cluster init` makes it, hosts joined through the real Join call, and a plaintext probe.
export { initTestCluster, joinHost } from "./test-pki.js";
export { plaintextHttp2Answer } from "./plaintext-probe.js";
