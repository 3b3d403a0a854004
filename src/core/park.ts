/**
 * The one place a task suspends (DESIGN.md choice 4, Trio's `wait_task_rescheduled`). Every
 * blocking operation — sleep, lock, channel, waiting for children — ends in {@link park}.
 *
 * The abort contract. A parked wait registers an `abort` callback. When the code that parked
 * becomes cancelled, its scope calls `abort()` **at most once**:
 *
 * - return `true` ("withdrawn"): the callback has undone all of the wait's bookkeeping (left
 *   the queue, cleared the timer), no wake-up can follow, and `park` rejects with `Cancelled`;
 * - return `false` ("a wake-up will still come"): the wait goes on until someone calls
 *   {@link wake}. Use this when the operation cannot be withdrawn at this point (a value was
 *   already handed over) or when the waiter must wait anyway (a group for its children).
 *
 * Because JavaScript runs one thing at a time, "the wait was already satisfied" and "the wait
 * was withdrawn" cannot both happen: whichever of `wake` and `abort` runs first decides, and a
 * wait satisfied before a cancellation returns normally and keeps its value.
 *
 * The registration rule. A wait is registered (linked into its scope, its task counted as
 * blocked) *before* it is handed to anything that can wake it, because a waker may call back
 * synchronously (a thenable whose `then` calls its callback at once, a queue that already
 * has a value): a wake that came first would be undone by the registration that followed, and
 * the settled wait would stay linked to its scope for the scope's whole life (issue 9: a
 * thousand such `wait()` calls left a thousand links). {@link park} therefore links the wait,
 * then runs `register` — for every wait: {@link park}, `WaitQueue.park` and a sleep all go
 * through {@link parkWait}.
 *
 * @module
 */
import { currentScope } from "./context.js";
import { taskOf, type ScopeMember, type ScopeNode } from "./cancel-scope.js";
import type { Runtime } from "./runtime.js";
import type { TaskImpl } from "./task.js";
import { getDefaultRuntime } from "./runtime.js";
import { countCheckpoint } from "./checkpoint.js";
import { PARK_ONE } from "./flags.js";

/**
 * The resolvers of the promise being made: `new Promise(captureResolvers)` runs its executor
 * synchronously, so they are read back at once. One shared executor and no result object per
 * wait (`Promise.withResolvers` allocates one, and an executor closure would be another).
 */
let capturedResolve: ((value: never) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** @internal Any parked wait, whatever its value type (parameters are bivariant only for methods). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyParked = Parked<any>;

/**
 * @internal An object that can withdraw waits (a queue, a sleep's timer entry): the same
 * contract as an abort callback, without allocating a closure per wait on hot paths.
 */
export interface WaitAborter {
  abortWait(parked: AnyParked): boolean;
}

/**
 * @internal What a wait is on, for the debug task tree and instruments, built only when asked
 * (a primitive passes itself or a shared constant instead of formatting a string per wait):
 * `sleep until 1234.5`, `Lock.acquire (held by task "db" #7)`, `receive on channel "jobs"`.
 */
export interface WaitDescriber {
  describeWait(parked: AnyParked): string;
}

/** @internal A wait's label: a fixed string, or an object that formats it on demand. */
export type WaitLabel = string | WaitDescriber;

/** @internal The text of a wait's label (formatted now, for a describer). Never throws. */
export function describeWait(parked: AnyParked): string {
  const label = parked.label;
  if (typeof label === "string") return label;
  try {
    return label.describeWait(parked);
  } catch {
    return "(unknown wait)";
  }
}

/** @internal A parked wait; primitives keep it in their queues and pass it to {@link wake}. */
export class Parked<T = unknown> {
  /** Links in the scope's list of parked waits, walked when the scope is cancelled. */
  prevInScope: ScopeMember | undefined = undefined;
  nextInScope: ScopeMember | undefined = undefined;
  /** Whatever the primitive wants to keep with the waiter (a value to send, a borrower). */
  data: unknown = undefined;
  settled = false;
  /** See the module comment; `undefined` means "cannot be withdrawn": wait for `wake`. */
  abort: (() => boolean) | WaitAborter | undefined = undefined;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly scope: ScopeNode | undefined,
    readonly label: WaitLabel,
  ) {}

  /** The task that waits, if any: the owner of the scope it waits in. */
  get task(): TaskImpl<unknown> | undefined {
    const scope = this.scope;
    return scope === undefined ? undefined : taskOf(scope);
  }

  /** @internal Makes the promise the waiter awaits, keeping only its resolvers. */
  makePromise(): Promise<T> {
    const promise = new Promise<T>(captureResolvers);
    this.resolve = capturedResolve as (value: T) => void;
    this.reject = capturedReject!;
    capturedResolve = capturedReject = undefined;
    return promise;
  }

  get runtime(): Runtime {
    return this.scope?.runtime ?? getDefaultRuntime();
  }
}

/**
 * @internal What puts a wait where its waker will find it, as an object (a queue, a sleep that is
 * its own timer entry) so that parking allocates no closure; or a function for one-off waits.
 * Precondition of an object registrar: `registerWait` does not throw (see parkWait).
 */
export interface WaitRegistrar<T> {
  registerWait(parked: Parked<T>): void;
}

/** @internal The `register` argument of {@link park} and {@link parkWait}. */
export type Register<T> = ((parked: Parked<T>) => void) | WaitRegistrar<T>;

/**
 * @internal The one "already cancelled?" check of a checkpoint-to-be: the rejection to return
 * when code in `scope` is cancelled, or `undefined` to go on:
 * `const cancelled = rejectIfCancelled(scope); if (cancelled !== undefined) return cancelled;`
 */
export function rejectIfCancelled(scope: ScopeNode | undefined): Promise<never> | undefined {
  return scope !== undefined && scope.cause !== null ? scope.rejectCancelled() : undefined;
}

/**
 * Suspends the calling code until {@link wake} or a cancellation: `park(label, register)`. The
 * wait is linked into its scope first; then `register(p)` runs, synchronously: it puts `p` where
 * a waker will find it and sets `p.abort`. It may wake `p` at once (see the registration rule
 * above); if it throws, the wait ends with that error (the promise rejects; `park` never throws).
 * Raises `Cancelled` at once, before `register`, if the calling context is already cancelled
 * (unless `cancellable` is false: a wait that cancellation must not interrupt). A caller that
 * has just read the current scope passes it as `scope`, sparing a second context lookup.
 *
 * @internal
 */
export function park<T>(
  label: WaitLabel,
  register: Register<T>,
  cancellable = true,
  scope: ScopeNode | undefined = currentScope(),
): Promise<T> {
  return parkWait(new Parked<T>(scope, label), register, cancellable);
}

/**
 * The one place a wait suspends, for a wait object made by the caller: a {@link Parked}, or a
 * subclass that is also, say, its own timer entry (one object per wait instead of two), with
 * `data` and `abort` set as the caller needs (`register` may set `abort` too). {@link park} and
 * `WaitQueue.park` are this with the wait made for you.
 *
 * @internal
 */
export function parkWait<T>(parked: Parked<T>, register: Register<T> | undefined, cancellable = true): Promise<T> {
  const scope = parked.scope;
  if (cancellable) {
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    countCheckpoint(scope); // a wait that cancellation cannot interrupt is no checkpoint
  }
  const promise = parked.makePromise(); // before register: it may hand over a value at once
  suspend(parked); // before register: a wake inside register must find the wait linked
  if (typeof register === "function") {
    try {
      register(parked);
    } catch (err) {
      wakeWithError(parked, err);
    }
  } else if (register !== undefined) {
    // Precondition: an object registrar (a WaitQueue, a SleepWait) never throws and never
    // wakes the wait from inside `registerWait`; the hot paths skip the try/catch for it.
    register.registerWait(parked);
  }
  return promise;
}

/** Links the wait into its scope (so cancellation finds it) and counts the task as blocked. */
function suspend(parked: AnyParked): void {
  const scope = parked.scope;
  if (scope !== undefined) {
    scope.addParked(parked);
    const task = taskOf(scope);
    if (task !== undefined && (task.flags += PARK_ONE) < 2 * PARK_ONE) scope.runtime.taskBlocked(task, parked);
  }
}

/** Ends the wait of `parked` with `value`; returns false if it had already ended. @internal */
export function wake<T>(parked: Parked<T>, value: T): boolean {
  if (!unpark(parked)) return false;
  parked.resolve(value);
  return true;
}

/** Ends the wait of `parked` by rejecting it with `error`; false if it had already ended. @internal */
export function wakeWithError(parked: AnyParked, error: unknown): boolean {
  if (!unpark(parked)) return false;
  parked.reject(error);
  return true;
}

function unpark(parked: AnyParked): boolean {
  if (parked.settled) return false;
  parked.settled = true;
  parked.scope?.removeParked(parked);
  const task = parked.task;
  // A task that ended with a wait floating counts no park any more (TaskImpl.finish): only a
  // counted park is taken off (the count must never run into the bits below it, flags.ts).
  if (task !== undefined && task.flags >= PARK_ONE && (task.flags -= PARK_ONE) < PARK_ONE) parked.scope!.runtime.taskResumed(task);
  return true;
}

/** Called by a scope that became cancelled: asks the wait to withdraw. @internal */
export function deliverCancel(parked: AnyParked, scope: { cancelledError(bulk: boolean): unknown }): void {
  if (parked.settled) return;
  const abort = parked.abort;
  if (abort === undefined) return;
  parked.abort = undefined; // at most once
  const withdrawn = typeof abort === "function" ? abort() : abort.abortWait(parked);
  if (withdrawn) wakeWithError(parked, scope.cancelledError(false));
}
