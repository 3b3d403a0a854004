// The sync layer's entry: re-exports only.
export { Event, type EventStatistics } from "./event.js";
export { Lock, type LockStatistics } from "./lock.js";
export { Semaphore, type SemaphoreOptions, type SemaphoreStatistics } from "./semaphore.js";
export { Condition, type ConditionStatistics } from "./condition.js";
export { CapacityLimiter, type CapacityLimiterStatistics } from "./capacity-limiter.js";
