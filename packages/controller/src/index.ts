export { startController, type ControllerOptions, type RunningController } from "./controller.js";
export { parseConfig, type ControllerConfig } from "./config.js";
export { place, NoPlacementError, type HostSnapshot, type PlacementAsk, type Plan } from "./scheduler/index.js";
export { Store } from "./store/store.js";
export { issueToken, listTokens, revokeToken, verifyToken } from "./auth/token-store.js";
export { authorizeUser, type Principal } from "./auth/authorize.js";
export { RPC_ROLES } from "./auth/roles.js";
export { issueAdminToken } from "./auth/first-admin.js";
// For other packages' tests (the CLI's): a real nats-server they can stop and start.
export { NatsServer, NATS_BIN } from "./test-support/nats-server.js";
