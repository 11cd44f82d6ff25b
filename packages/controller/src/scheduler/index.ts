export { place, NoPlacementError, DEFAULT_SAMPLE_LIMIT } from "./place.js";
export { checkHost } from "./filters.js";
export type { Algorithm, HostSnapshot, PlacementAsk, Plan, PlaceOptions, Verdict, Rejection } from "./types.js";
