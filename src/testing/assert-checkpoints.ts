/**
 * `assertCheckpoints(fn)` and `assertNoCheckpoints(fn)`: check a function's colour, the rule
 * that every async function of trellis is a checkpoint and every sync one never is.
 *
 * How they tell (and why this differs from Trio). Trio counts, per task, the cancel points and
 * the schedule points the code passed, and wants both. In trellis the schedule half comes with
 * the language: every `await` lets every task that is already runnable take its turn, so what
 * sets a trellis checkpoint apart from a plain `await` is the cancel point, the place where a
 * `Cancelled` can be raised. So we run `fn` inside a cancel scope that is already cancelled:
 * if `fn` reaches a checkpoint (`checkpoint()`, `sleep()`, a lock, a channel, `wait()`…), that
 * checkpoint raises `Cancelled` and the scope catches it. A `Cancelled` raised while `fn` is
 * still running synchronously (`checkpointIfCancelled()` in sync code) is a cancel point with
 * no schedule point, and satisfies neither assertion, as in Trio.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { CancelScope, isCancelled, requireFunction, show } from "../core/index.js";

type Outcome<T> =
  | { readonly kind: "checkpoint" }
  | { readonly kind: "cancel point without a schedule point" }
  | { readonly kind: "returned"; readonly value: T };

/** Runs `fn` in an already-cancelled scope and says how it ended. */
async function probe<T>(fn: () => T | PromiseLike<T>): Promise<Outcome<Awaited<T>>> {
  const scope = new CancelScope({ name: "assertCheckpoints probe" });
  scope.cancel("checking for a checkpoint");
  let sync = false;
  const value = await scope.run(() => {
    let result: T | PromiseLike<T>;
    try {
      result = fn();
    } catch (err) {
      // Thrown before fn returned: no await can have happened.
      if (isCancelled(err)) sync = true;
      throw err;
    }
    const thenable = result !== null && (typeof result === "object" || typeof result === "function") && typeof (result as PromiseLike<T>).then === "function";
    if (!thenable) return result as Awaited<T>;
    return result as PromiseLike<T>;
  });
  if (scope.cancelledCaught) return sync ? { kind: "cancel point without a schedule point" } : { kind: "checkpoint" };
  return { kind: "returned", value: value as Awaited<T> };
}

function describe(fn: Function): string {
  return fn.name ? `\`${fn.name}\`` : "the function";
}

/**
 * Fails (throws `AssertionError`) unless `fn` passes a checkpoint: a place where a cancelled
 * caller gets `Cancelled` and other tasks get a turn. Use it to check that an async operation
 * is a checkpoint even when it could finish at once, as every async function of trellis must be.
 *
 * `fn` runs inside a cancel scope that is already cancelled, so it stops at its first
 * checkpoint: the operation is checked, not performed (an `acquire()` does not take the lock).
 * Not a checkpoint itself beyond what `fn` does; never raises `Cancelled` from `fn`'s probe
 * scope (a `Cancelled` of an outer scope of the caller still propagates).
 *
 * Limits: checkpoints inside a shielded scope, or whose `Cancelled` `fn` catches and drops,
 * are not seen; an async function that calls `checkpointIfCancelled()` before its first `await`
 * counts as a checkpoint (its caller's `await` is the schedule point).
 *
 * @param fn - The code to check; sync or async, called once with no arguments.
 * @throws {AssertionError} If `fn` returned (or resolved) without passing a checkpoint, or
 *   passed a cancel point without a schedule point (`checkpointIfCancelled()` in sync code).
 * @throws {TypeError} If `fn` is not a function.
 * @throws Whatever `fn` throws other than the probe's `Cancelled`.
 * @example
 * ```ts
 * import { Lock } from "trellis";
 * import { assertCheckpoints } from "trellis/testing";
 * const lock = new Lock();
 * await assertCheckpoints(() => lock.acquire()); // a checkpoint even though the lock is free
 * ```
 */
export async function assertCheckpoints(fn: () => unknown): Promise<void> {
  requireFunction("assertCheckpoints()", "fn", fn);
  const outcome = await probe(fn);
  if (outcome.kind === "checkpoint") return;
  if (outcome.kind === "returned") {
    throw new AssertionError({
      message: `assertCheckpoints(): ${describe(fn)} finished without passing a checkpoint (it returned ${show(outcome.value)}); an async operation of trellis must raise Cancelled when its caller is cancelled, even when it could finish at once: call checkpoint() or park on the fast path`,
      stackStartFn: assertCheckpoints,
    });
  }
  throw new AssertionError({
    message: `assertCheckpoints(): ${describe(fn)} raised Cancelled synchronously, before yielding: that is a cancel point without a schedule point (checkpointIfCancelled() in sync code), not a checkpoint; make the function async and await checkpoint()`,
    stackStartFn: assertCheckpoints,
  });
}

/**
 * Fails (throws `AssertionError`) if `fn` passes a checkpoint (or a bare cancel point); else
 * returns what `fn` returned. Use it to check that an operation never raises `Cancelled`, as
 * every sync function of trellis (`release`, `close`, `trySend`, `cancel`) must not.
 *
 * `fn` runs inside a cancel scope that is already cancelled, so a checkpoint shows up as a
 * `Cancelled` there; code without one runs to its end unchanged (but sees an aborted
 * `currentSignal()`). A plain `await` of a promise is not a checkpoint and passes, although it
 * does let other tasks run: to be sure nothing else runs in between, keep the code synchronous.
 *
 * @param fn - The code to check; sync or async, called once with no arguments.
 * @returns What `fn` returned (awaited).
 * @throws {AssertionError} If `fn` passed a checkpoint or a cancel point.
 * @throws {TypeError} If `fn` is not a function.
 * @throws Whatever `fn` throws other than the probe's `Cancelled`.
 * @example
 * ```ts
 * import { Lock } from "trellis";
 * import { assertNoCheckpoints } from "trellis/testing";
 * const lock = new Lock();
 * await assertNoCheckpoints(() => lock.tryAcquire()); // sync: never a checkpoint
 * lock.release();
 * ```
 */
export async function assertNoCheckpoints<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
  requireFunction("assertNoCheckpoints()", "fn", fn);
  const outcome = await probe(fn);
  if (outcome.kind === "returned") return outcome.value;
  const what = outcome.kind === "checkpoint" ? "passed a checkpoint" : "passed a cancel point (checkpointIfCancelled())";
  throw new AssertionError({
    message: `assertNoCheckpoints(): ${describe(fn)} ${what}, so a cancelled caller would get Cancelled there; code that must not be interrupted may not await trellis operations`,
    stackStartFn: assertNoCheckpoints,
  });
}
