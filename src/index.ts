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
} from "./core/errors.js";
export { systemClock, type Clock, type ClockHost } from "./core/clock.js";
export type { Instrument } from "./core/runtime.js";
export type { TaskOutcome } from "./core/instruments.js";
export type { TaskInfo } from "./core/task-info.js";
export { CancelScope, withCancelScope, type CancelScopeOptions } from "./core/cancel-scope.js";
export { checkpoint, checkpointIfCancelled } from "./core/checkpoint.js";
export type { Task, TaskState } from "./core/task.js";
export { withTaskGroup, type TaskGroup, type TaskGroupOptions, type SpawnOptions, type TaskStatus } from "./core/task-group.js";
export { run, type RunOptions, type DebugOptions } from "./core/run.js";
export { currentTime, currentTask, currentEffectiveDeadline, currentSignal } from "./core/current.js";
export { wait, cancelOnAbort } from "./core/wait.js";
export { sleep, sleepUntil, sleepForever } from "./time/sleep.js";
export { moveOnAfter, moveOnAt, failAfter, failAt, type TimeoutOptions } from "./time/timeouts.js";
export * from "./sync/index.js";
export * from "./channels/index.js";
export * from "./combinators/index.js";
export * from "./supervision/index.js";
