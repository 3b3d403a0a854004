/**
 * `assertCheckpoints(fn)` and `assertNoCheckpoints(fn)`: check a function's colour, the rule
 * that every async function of trellis is a checkpoint and every sync one never is.
 *
 * How they tell, as Trio's do: every task counts the checkpoints it passes (one increment in
 * `checkpoint()`, in every park of a cancellable wait, on every fast path that finishes with a
 * cancel check and a schedule point, and for every `Cancelled` raised at a checkpoint; see
 * `countCheckpoint` in core/checkpoint.ts). We read the calling task's count, run `fn` for
 * real, and compare. So `fn` does what it does: a lock acquired inside stays acquired, a value
 * sent is sent (issue 9; the first version probed `fn` in a pre-cancelled scope instead, which
 * stopped it at its first checkpoint). Code outside any task shares one count.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { checkpointsPassed, requireFunction, show } from "../core/index.js";

interface Outcome<T> {
  /** Checkpoints `fn` passed (in the calling task, while it ran). */
  readonly passed: number;
  readonly ok: boolean;
  readonly value?: T;
  readonly error?: unknown;
}

/** Runs `fn` (and awaits what it returns) and counts the checkpoints it passed. */
async function runCounted<T>(fn: () => T | PromiseLike<T>): Promise<Outcome<Awaited<T>>> {
  const before = checkpointsPassed();
  try {
    const value = await fn(); // a plain await: not a checkpoint, so it adds nothing to the count
    return { passed: checkpointsPassed() - before, ok: true, value };
  } catch (error) {
    return { passed: checkpointsPassed() - before, ok: false, error };
  }
}

function describe(fn: Function): string {
  return fn.name ? `\`${fn.name}\`` : "the function";
}

/**
 * Fails (throws `AssertionError`) unless `fn` passes a checkpoint: a place where a cancelled
 * caller gets `Cancelled` and other tasks get a turn. Use it to check that an async operation
 * is a checkpoint even when it could finish at once, as every async function of trellis must be.
 *
 * `fn` runs for real, in the caller's task and cancel scopes, and is awaited: what it does
 * stays done (an `acquire()` takes the lock). The calling task's count of checkpoints is
 * compared before and after, as Trio's `assert_checkpoints` does. Not a checkpoint itself
 * beyond what `fn` does.
 *
 * Limits: a plain `await` of a promise is not a checkpoint; nor is `checkpointIfCancelled()`
 * unless it raises (it is a cancel point without a schedule point). Checkpoints of tasks that
 * `fn` spawns are theirs, not the caller's. Outside any task all code shares one count, so
 * other code running meanwhile outside tasks may be mistaken for `fn`'s checkpoints.
 *
 * @param fn - The code to check; sync or async, called once with no arguments.
 * @throws {AssertionError} If `fn` returned (or resolved) without passing a checkpoint.
 * @throws {TypeError} If `fn` is not a function.
 * @throws Whatever `fn` throws, unchanged (including `Cancelled`).
 * @example
 * ```ts
 * import { Lock } from "trellis";
 * import { assertCheckpoints } from "trellis/testing";
 * const lock = new Lock();
 * await assertCheckpoints(() => lock.acquire()); // a checkpoint even though the lock is free
 * lock.release(); // fn ran for real: the lock was taken
 * ```
 */
export async function assertCheckpoints(fn: () => unknown): Promise<void> {
  requireFunction("assertCheckpoints()", "fn", fn);
  const outcome = await runCounted(fn);
  if (!outcome.ok) throw outcome.error;
  if (outcome.passed > 0) return;
  throw new AssertionError({
    message: `assertCheckpoints(): ${describe(fn)} finished without passing a checkpoint (it returned ${show(outcome.value)}); an async operation of trellis must be a checkpoint (raise Cancelled when its caller is cancelled, and let other tasks run) even when it could finish at once: await checkpoint() or park on the fast path`,
    stackStartFn: assertCheckpoints,
  });
}

/**
 * Fails (throws `AssertionError`) if `fn` passes a checkpoint; else returns what `fn`
 * returned. Use it to check that an operation never raises `Cancelled` nor lets other tasks
 * run, as every sync function of trellis (`release`, `close`, `trySend`, `cancel`) must not.
 *
 * `fn` runs for real, in the caller's task and cancel scopes, and is awaited; the calling
 * task's count of checkpoints is compared before and after. A `Cancelled` raised inside `fn`
 * was raised at a checkpoint, so it fails the assertion (the `AssertionError` has it as
 * `cause`). A plain `await` of a promise is not a checkpoint and passes, although it does let
 * other tasks run: to be sure nothing else runs in between, keep the code synchronous.
 *
 * @param fn - The code to check; sync or async, called once with no arguments.
 * @returns What `fn` returned (awaited).
 * @throws {AssertionError} If `fn` passed a checkpoint.
 * @throws {TypeError} If `fn` is not a function.
 * @throws Whatever `fn` throws without having passed a checkpoint, unchanged.
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
  const outcome = await runCounted(fn);
  if (outcome.passed === 0) {
    if (!outcome.ok) throw outcome.error;
    return outcome.value as Awaited<T>;
  }
  const passed = outcome.passed === 1 ? "a checkpoint" : `${outcome.passed} checkpoints`;
  const failure = new AssertionError({
    message: `assertNoCheckpoints(): ${describe(fn)} passed ${passed}, so a cancelled caller would get Cancelled there and other tasks would run; code that must not be interrupted may not await trellis operations`,
    stackStartFn: assertNoCheckpoints,
  });
  if (!outcome.ok) Object.defineProperty(failure, "cause", { value: outcome.error, writable: true, configurable: true });
  throw failure;
}
