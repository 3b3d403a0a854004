// The core layer's entry. Everything outside src/core imports the core from here only.
// Names marked @internal are for trellis's own layers; src/index.ts re-exports the public ones.
export * from "./errors.js";
export * from "./clock.js";
export { Runtime, getDefaultRuntime, type Instrument } from "./runtime.js";
export type { TimerEntry } from "./timer-heap.js";
export type { TaskInfo } from "./task-info.js";
export { currentScope } from "./context.js";
export { park, parkPrepared, wake, wakeWithError, Parked, type AnyParked, type WaitAborter } from "./park.js";
export { WaitQueue, type WaitQueueStatistics } from "./wait-queue.js";
export { CancelScope, withCancelScope, type CancelScopeOptions } from "./cancel-scope.js";
export { checkpoint, checkpointIfCancelled, schedulePoint } from "./checkpoint.js";
export { sliceExpired, yieldToEventLoop } from "./scheduler.js";
export { captureSpawnSite } from "./spawn-site.js";
export { currentTaskImpl, TaskImpl, annotateTaskChain, type Task, type TaskState, type TaskOwner } from "./task.js";
export {
  withTaskGroup,
  runGroup,
  TaskGroupImpl,
  type TaskGroup,
  type TaskGroupOptions,
  type SpawnOptions,
  type TaskStatus,
} from "./task-group.js";
export { run, type RunOptions, type DebugOptions } from "./run.js";
export { currentTime, currentTask, currentEffectiveDeadline, currentSignal } from "./current.js";
export { wait, cancelOnAbort } from "./wait.js";
export * from "./validate.js";
export { trackResource, TrackedResource } from "./resources.js";
export { takeOverSignal, signalTakenOver } from "./signal-takeover.js";
