// The core layer's entry. Everything outside src/core imports the core from here only.
// Names marked @internal are for trellis's own layers; src/index.ts re-exports the public ones.
export * from "./errors.js";
export * from "./clock.js";
export { Runtime, getDefaultRuntime } from "./runtime.js";
export { callInstruments, type Instrument, type TaskOutcome } from "./instruments.js";
export type { TimerEntry, TimerLink } from "./timer-queue.js";
export type { TaskInfo } from "./task-info.js";
export { currentScope } from "./context.js";
export {
  park,
  parkWait,
  rejectIfCancelled,
  wake,
  wakeWithError,
  Parked,
  describeWait,
  type AnyParked,
  type Register,
  type WaitAborter,
  type WaitDescriber,
  type WaitLabel,
  type WaitRegistrar,
} from "./park.js";
export { RingBuffer } from "./ring-buffer.js";
export { WaitQueue, QueuedWait } from "./wait-queue.js";
export { CancelScope, ScopeNode, UserScope, withCancelScope, type CancelScopeOptions, type CancelScopeConstructor } from "./cancel-scope.js";
export { checkpoint, checkpointIfCancelled, schedulePoint, completeCheckpoint, countCheckpoint, checkpointsPassed, setCancellationPoll } from "./checkpoint.js";
export { sliceExpired, yieldToEventLoop } from "./scheduler.js";
export { captureSpawnSite } from "./spawn-site.js";
export { currentTaskImpl, TaskImpl, annotateTaskChain, type Task, type TaskState, type TaskOwner } from "./task.js";
export {
  withTaskGroup,
  runGroup,
  openGroup,
  requireTaskFunction,
  TaskGroupImpl,
  type TaskGroup,
  type TaskGroupOptions,
  type SpawnOptions,
  type TaskStatus,
} from "./task-group.js";
export { TASK_LIMITER, requireTaskLimiter, admitFromRun, queuedTaskAdjustment, TaskRun, type TaskLimiter, type SpawnLimiter } from "./limited-spawn.js";
export { run, type RunOptions, type DebugOptions } from "./run.js";
export { currentTime, currentTask, currentEffectiveDeadline, currentSignal } from "./current.js";
export { wait, cancelOnAbort } from "./wait.js";
export * from "./validate.js";
export { trackResource, TrackedResource, watchForLeak, forgetLeak, type ResourceLabeller, type ForceCloser } from "./resources.js";
export { taskTree, formatTaskTree, snapshotRun, rootTaskOf, type TaskTree, type TaskSnapshot, type ScopeSnapshot } from "./task-tree.js";
export { formatStall } from "./loop-monitor.js";
export { takeOverSignal, signalTakenOver } from "./signal-takeover.js";
export * from "./stream-args.js";
