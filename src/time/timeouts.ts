/**
 * Timeouts as deadline scopes, never races (DESIGN.md: a race leaves the loser running and can
 * lose a cancellation; a scope cannot). `moveOn*` gives up quietly, `fail*` loudly.
 *
 * @module
 */
import {
  UserScope,
  type CancelScope,
  checkpointIfCancelled,
  currentTime,
  requireBoolean,
  requireDeadline,
  requireDuration,
  requireFunction,
  requireOptionalString,
  requireOptions,
  TimeoutError,
} from "../core/index.js";

/** Options of the timeout functions. */
export interface TimeoutOptions {
  /** Shield the body from outer cancellation (its own deadline still applies): for bounded cleanup. */
  readonly shield?: boolean;
  /** Names the operation: shown in `Cancelled` messages and in the `TimeoutError` of `fail*`. */
  readonly name?: string;
}

function deadlineScope(where: string, deadline: number, fn: unknown, options: TimeoutOptions | undefined): UserScope {
  requireFunction(where, "fn", fn);
  requireOptions(where, options);
  const shield = options?.shield == null ? false : requireBoolean(where, "options.shield", options.shield);
  const name = requireOptionalString(where, "options.name", options?.name);
  return new UserScope(name === undefined ? { deadline, shield } : { deadline, shield, name });
}

/**
 * Runs `fn` with a deadline `ms` from now. When it passes, `fn` is cancelled at its next
 * checkpoint and `moveOnAfter` returns `undefined`; an outer cancellation still propagates.
 * Entering never raises `Cancelled`. Use {@link failAfter} when running out of time is an error.
 *
 * @param ms - Milliseconds on the run's clock; `Infinity` means no deadline.
 * @returns `fn`'s result, or `undefined` if the deadline ended it.
 * @throws {RangeError} If `ms` is negative or NaN.
 * @throws {TypeError} If `ms` is not a number, or `fn` is not a function.
 * @example
 * ```ts
 * import { moveOnAfter } from "trellis";
 * const reply = await moveOnAfter(5_000, () => replies.receive());
 * if (reply === undefined) console.log("no reply within 5 s");
 * ```
 */
export async function moveOnAfter<T>(ms: number, fn: (scope: CancelScope) => T | PromiseLike<T>, options?: TimeoutOptions): Promise<T | undefined> {
  requireDuration("moveOnAfter()", "ms", ms);
  return deadlineScope("moveOnAfter()", currentTime() + ms, fn, options).run(fn);
}

/**
 * As {@link moveOnAfter}, with an absolute deadline on the run's clock.
 *
 * @example
 * ```ts
 * import { currentTime, moveOnAt } from "trellis";
 * const deadline = currentTime() + 10_000;
 * await moveOnAt(deadline, () => stepOne());
 * await moveOnAt(deadline, () => stepTwo()); // one budget for both steps
 * ```
 */
export async function moveOnAt<T>(deadline: number, fn: (scope: CancelScope) => T | PromiseLike<T>, options?: TimeoutOptions): Promise<T | undefined> {
  requireDeadline("moveOnAt()", "deadline", deadline);
  return deadlineScope("moveOnAt()", deadline, fn, options).run(fn);
}

/**
 * Runs `fn` with a deadline `ms` from now, and throws `TimeoutError` if it passes. An outer
 * cancellation arriving at the same time is never turned into a `TimeoutError` nor swallowed.
 *
 * @throws {TimeoutError} If the deadline ended `fn`; its message names the operation when
 *   `options.name` is given (`failAfter(): "connect db" did not finish within 3000 ms`).
 * @throws {RangeError} If `ms` is negative or NaN.
 * @throws {TypeError} If `ms` is not a number, or `fn` is not a function.
 * @example
 * ```ts
 * import { failAfter } from "trellis";
 * const conn = await failAfter(3_000, () => connect(host), { name: "connect db" });
 * ```
 */
export async function failAfter<T>(ms: number, fn: (scope: CancelScope) => T | PromiseLike<T>, options?: TimeoutOptions): Promise<T> {
  requireDuration("failAfter()", "ms", ms);
  const scope = deadlineScope("failAfter()", currentTime() + ms, fn, options);
  return failIfCaught(scope, await scope.run(fn), "failAfter()", `within ${ms} ms`);
}

/**
 * As {@link failAfter}, with an absolute deadline on the run's clock.
 *
 * @example
 * ```ts
 * import { currentTime, failAt } from "trellis";
 * await failAt(currentTime() + 1_000, () => handshake());
 * ```
 */
export async function failAt<T>(deadline: number, fn: (scope: CancelScope) => T | PromiseLike<T>, options?: TimeoutOptions): Promise<T> {
  requireDeadline("failAt()", "deadline", deadline);
  const scope = deadlineScope("failAt()", deadline, fn, options);
  return failIfCaught(scope, await scope.run(fn), "failAt()", `by the deadline ${deadline}`);
}

function failIfCaught<T>(scope: UserScope, result: T | undefined, where: string, limit: string): T {
  if (!scope.cancelledCaught) return result as T;
  // A cancellation of the caller that arrived at the same time as the timeout (after it fired,
  // before we got here) must win over our TimeoutError, or an enclosing moveOn scope would see
  // an error instead of its own cancellation. One that was there before the timeout, held off
  // by `shield`, did not stop the body: the timeout did (Trio's
  // test_fail_after_fails_even_if_shielded).
  if (!scope.cancelledUnderCancelledOuter) checkpointIfCancelled();
  const what = scope.name === undefined ? "the body" : JSON.stringify(scope.name);
  throw new TimeoutError(`${where}: ${what} did not finish ${limit}`);
}
