// What the scheduler and heartbeat benches drive: the controller's real store, placement path and
// controller, exported as @corral/controller/bench-support so that benches stay outside the package.
export { Store } from "../store/store.js";
export { upsertHost } from "../store/hosts.js";
export { insertContainer, setContainerState } from "../store/containers.js";
export { placeAndRecord, type PlacementContext } from "../api/placement.js";
export { startController, type ControllerOptions } from "../controller.js";
export { joinWithToken } from "./test-pki.js";
