export { place, NoPlacementError, DEFAULT_SAMPLE_LIMIT, type HostRoom } from "./place.js";
export { checkHost, cpuFilter, cpuRoom, diskFilter, memoryFilter, memoryRoom } from "./filters.js";
export { parseConstraint, formatConstraint } from "./constraints.js";
export { ALGORITHMS, FILTER_NAMES } from "./types.js";
export type {
  Algorithm,
  Constraint,
  FilterName,
  HostSnapshot,
  PlacementAsk,
  Plan,
  PlaceOptions,
  Verdict,
  Rejection,
} from "./types.js";
