export { place, NoPlacementError, DEFAULT_SAMPLE_LIMIT } from "./place.js";
export { checkHost, cpuFilter, diskFilter, memoryFilter } from "./filters.js";
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
