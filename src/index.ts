// The "trellis" entry: re-exports only.
export {
  Cancelled,
  TimeoutError,
  ClosedResourceError,
  BrokenResourceError,
  BusyResourceError,
  EndOfChannel,
  WouldBlock,
  TaskGroupError,
  RuntimeError,
  isCancelled,
  suppressedErrors,
  type CancelSource,
} from "./core/index.js";
export { systemClock, type Clock, type ClockHost } from "./core/index.js";
export type { Instrument } from "./core/index.js";
export type { TaskOutcome } from "./core/index.js";
export type { TaskInfo } from "./core/index.js";
export { CancelScope, withCancelScope, type CancelScopeOptions, type CancelScopeConstructor } from "./core/index.js";
export { checkpoint, checkpointIfCancelled } from "./core/index.js";
export type { Task, TaskState } from "./core/index.js";
export { withTaskGroup, type TaskGroup, type TaskGroupOptions, type SpawnOptions, type SpawnLimiter, type TaskStatus } from "./core/index.js";
export { run, type RunOptions, type DebugOptions } from "./core/index.js";
export { currentTime, currentTask, currentEffectiveDeadline, currentSignal } from "./core/index.js";
export { wait, cancelOnAbort } from "./core/index.js";
export { sleep, sleepUntil, sleepForever } from "./time/index.js";
export { moveOnAfter, moveOnAt, failAfter, failAt, type TimeoutOptions } from "./time/index.js";
export * from "./sync/index.js";
export * from "./channels/index.js";
export * from "./combinators/index.js";
export * from "./supervision/index.js";
