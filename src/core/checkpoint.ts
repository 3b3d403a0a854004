/**
 * Checkpoints: where cancellation is delivered and other tasks get a turn.
 *
 * @module
 */
import { currentScope } from "./context.js";
import { taskOf, type ScopeNode } from "./cancel-scope.js";
import { sliceExpired, yieldToEventLoop } from "./scheduler.js";
import { COUNTING } from "./flags.js";

/** Checkpoints passed by code outside any task (which has no task to count them on). */
let checkpointsOutsideTasks = 0;
/** Set by the first read of a count (see countCheckpoint). */
let counting = false;

/**
 * @internal Counts one checkpoint of the code running in `scope`: on its task, or on the count
 * shared by all code outside any task. This is how `assertCheckpoints` tells, as Trio's does,
 * by comparing the count before and after (issue 9). Every checkpoint counts itself exactly
 * where it happens: `checkpoint()`, every park of a cancellable wait (park.ts), every fast path
 * that ends in {@link completeCheckpoint} (or counts before its own schedule point), and every
 * `Cancelled` raised at a checkpoint (`scope.cancelledError(true)`). A checkpoint may count
 * twice; tests only compare.
 *
 * Speed shortcut: nothing is counted until some count is read, and then a task counts only once
 * its own count has been read ({@link checkpointsPassed} switches counting on, for the process
 * and for the calling task, for good). Precondition: a count is only ever compared with an
 * earlier read of the same count, so checkpoints before its first read never matter. Until
 * `assertCheckpoints` is used, a checkpoint pays one comparison here; a task nobody asks
 * about pays one bit test and no field. Property-tested in test/core/task-record.prop.test.ts.
 */
export function countCheckpoint(scope: ScopeNode | undefined): void {
  if (!counting) return;
  const task = scope === undefined ? undefined : taskOf(scope);
  if (task !== undefined) {
    if (task.flags & COUNTING) task.checkpointPassed();
  } else checkpointsOutsideTasks++;
}

/**
 * @internal The checkpoints passed so far by the calling task (or by code outside any task).
 * The first call in a task switches counting on for it (see {@link countCheckpoint}).
 */
export function checkpointsPassed(): number {
  counting = true;
  const task = currentScope()?.task;
  if (task === undefined) return checkpointsOutsideTasks;
  task.countCheckpoints();
  return task.checkpoints;
}

/**
 * A cancellation point and a schedule point: raises `Cancelled` if the calling context is
 * cancelled, and otherwise lets every other runnable task (and, regularly, timers and I/O) run
 * before it returns. Put one in long computations so that they can be cancelled and do not
 * monopolise the thread.
 *
 * @throws {Cancelled} If the calling context is cancelled, before or while it yields.
 * @example
 * ```ts
 * import { checkpoint } from "trellis";
 * for (const row of rows) { handle(row); await checkpoint(); }
 * ```
 */
export function checkpoint(): Promise<void> {
  if (cancellationPoll !== undefined) cancellationPoll();
  const scope = currentScope();
  if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
  countCheckpoint(scope);
  // Other tasks run while we yield and may cancel us (a sibling fails, someone calls cancel()),
  // so, as in Trio, the cancel check comes after the schedule point too. The reaction runs in
  // this context, so checkpointIfCancelled finds our scope: no closure per checkpoint. Outside
  // every scope nothing can cancel, and nothing is allocated.
  if (!sliceExpired()) return scope === undefined ? resolved : resolved.then(checkpointIfCancelled);
  return yieldToEventLoop().then(checkpointIfCancelled);
}

const resolved = Promise.resolve();

/**
 * A cancellation that arrives from outside the event loop: in a worker thread of
 * `trellis/threads`, the caller's cancellation is a flag in shared memory, which a synchronous
 * loop must see while the worker's event loop is blocked (DESIGN.md choice 10). The poll reads
 * the flag and cancels the call's scope; checkpoints run it before looking at their scope.
 * Unset (and one comparison) everywhere else.
 */
let cancellationPoll: (() => void) | undefined;

/** @internal Installs the poll of the worker side of `trellis/threads` (see above). */
export function setCancellationPoll(poll: (() => void) | undefined): void {
  cancellationPoll = poll;
}

/**
 * A cancellation point that never yields: throws `Cancelled` if the calling context is
 * cancelled, and returns at once otherwise. Synchronous, so it can sit in a hot loop.
 *
 * @throws {Cancelled} If the calling context is cancelled.
 * @example
 * ```ts
 * import { checkpointIfCancelled } from "trellis";
 * for (const item of batch) { checkpointIfCancelled(); handle(item); }
 * ```
 */
export function checkpointIfCancelled(): void {
  if (cancellationPoll !== undefined) cancellationPoll();
  const scope = currentScope();
  if (scope !== undefined && scope.cause !== null) throw scope.raiseCancelled();
}

/**
 * @internal A schedule point that is not a cancellation point (Trio's
 * `cancel_shielded_checkpoint`): used after an operation that succeeded without waiting, so
 * that its result is kept even if the context was cancelled meanwhile.
 */
export function schedulePoint(): Promise<void> {
  return sliceExpired() ? yieldToEventLoop() : resolved;
}

/**
 * @internal The schedule half of a checkpoint whose cancel half the caller has just done: the
 * fast path of an operation that succeeded without waiting (a free lock, room in a channel).
 * Precondition: the caller read `scope.cause` (the current scope) and found it null, so that
 * check and this schedule point together make one checkpoint, which is counted here. Unlike
 * a {@link checkpoint}, nothing cancels after the yield: the operation has happened.
 */
export function completeCheckpoint(scope: ScopeNode | undefined): Promise<void> {
  countCheckpoint(scope);
  return sliceExpired() ? yieldToEventLoop() : resolved;
}
