// The combinators layer's entry: re-exports only.
export { all, type AllResults } from "./all.js";
export { race, type RaceResult } from "./race.js";
export { map, type MapOptions } from "./map.js";
