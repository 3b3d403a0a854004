// The "trellis/testing" entry: re-exports only.
export { MockClock, type MockClockOptions } from "./mock-clock.js";
export { waitAllTasksBlocked } from "./wait-all-tasks-blocked.js";
export { assertCheckpoints, assertNoCheckpoints } from "./assert-checkpoints.js";
export { trellisTest, type TrellisTestContext, type TrellisTestOptions, type TrellisTestFunction } from "./trellis-test.js";
export {
  memoryStreamPair,
  memoryStreamOneWayPair,
  lockstepStreamPair,
  lockstepStreamOneWayPair,
  type MemoryStreamOptions,
} from "./memory-streams.js";
export { checkOneWayStream, checkTwoWayStream, checkHalfCloseableStream, type StreamMaker } from "./check-streams.js";
