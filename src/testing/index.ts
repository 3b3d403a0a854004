// The "trellis/testing" entry: re-exports only.
export { MockClock, type MockClockOptions } from "./mock-clock.js";
export { waitAllTasksBlocked } from "./wait-all-tasks-blocked.js";
export { assertCheckpoints, assertNoCheckpoints } from "./assert-checkpoints.js";
export { trellisTest, type TrellisTestContext, type TrellisTestOptions, type TrellisTestFunction } from "./trellis-test.js";
