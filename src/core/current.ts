/**
 * Reading the ambient context: the running task, the run's clock, the caller's deadline and
 * an AbortSignal for APIs outside trellis.
 *
 * @module
 */
import { currentScope } from "./context.js";
import { getDefaultRuntime } from "./runtime.js";
import type { TaskInfo } from "./task-info.js";

/**
 * Monotonic milliseconds on the current run's clock (the real clock outside `run()`). Deadlines
 * are values of this clock.
 *
 * @example
 * ```ts
 * import { currentTime, moveOnAt } from "trellis";
 * const deadline = currentTime() + 30_000;
 * await moveOnAt(deadline, () => download());
 * ```
 */
export function currentTime(): number {
  return (currentScope()?.runtime ?? getDefaultRuntime()).now();
}

/**
 * The running task: `{ id, name, parent? }`, or `undefined` outside any task.
 *
 * @example
 * ```ts
 * import { currentTask } from "trellis";
 * console.log(`running in ${currentTask()?.name}`);
 * ```
 */
export function currentTask(): TaskInfo | undefined {
  return currentScope()?.task;
}

/**
 * The earliest deadline that applies to the caller, looking outward through enclosing scopes
 * up to the first shield: `Infinity` when none, `-Infinity` once the caller is cancelled.
 *
 * @example
 * ```ts
 * import { currentEffectiveDeadline, currentTime } from "trellis";
 * const budget = currentEffectiveDeadline() - currentTime(); // ms left, or Infinity
 * ```
 */
export function currentEffectiveDeadline(): number {
  let scope = currentScope();
  if (scope === undefined) return Infinity;
  if (scope.cause !== null) return -Infinity;
  let deadline = Infinity;
  for (; scope !== undefined; scope = scope.outer) {
    if (scope.deadline < deadline) deadline = scope.deadline;
    if (scope.shield) break;
  }
  return deadline;
}

let neverAborted: AbortSignal | undefined;

/**
 * The `AbortSignal` of the calling context: aborted once the caller is cancelled (shields
 * respected). Pass it to `fetch`, `fs`, `timers/promises`, `child_process` and other APIs that
 * take one. Outside any scope, a signal that never aborts.
 *
 * @example
 * ```ts
 * import { currentSignal, failAfter } from "trellis";
 * const res = await failAfter(5_000, () => fetch(url, { signal: currentSignal() }));
 * ```
 */
export function currentSignal(): AbortSignal {
  const scope = currentScope();
  if (scope !== undefined) return scope.signal;
  neverAborted ??= new AbortController().signal;
  return neverAborted;
}
