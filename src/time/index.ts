// The time layer's entry: re-exports only.
export { sleep, sleepUntil, sleepForever } from "./sleep.js";
export { moveOnAfter, moveOnAt, failAfter, failAt, type TimeoutOptions } from "./timeouts.js";
