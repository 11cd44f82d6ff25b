export { startController, type ControllerOptions, type RunningController } from "./controller.js";
export { parseConfig, type ControllerConfig } from "./config.js";
export { place, NoPlacementError, type HostSnapshot, type PlacementAsk, type Plan } from "./scheduler/index.js";
