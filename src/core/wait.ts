/**
 * Bridges to promises and AbortSignals from outside trellis.
 *
 * @module
 */
import { UserScope, type CancelScope } from "./cancel-scope.js";
import { park, wake, wakeWithError } from "./park.js";
import { currentScope } from "./context.js";
import { requireFunction, show } from "./validate.js";
import { captureSpawnSite } from "./spawn-site.js";

/**
 * Awaits a foreign promise as a checkpoint: raises `Cancelled` if the calling context is
 * cancelled first, abandoning the promise (its later rejection is handled, never unhandled).
 * A promise that settled before the cancellation keeps its outcome.
 *
 * Without `wait`, a timeout scope around a foreign promise cannot stop waiting for it: the
 * promise has no checkpoint, so `moveOnAfter(ms, () => legacyClient.get(key))` waits until it
 * settles. With `wait` we stop waiting at the deadline (the operation itself runs on, as with
 * `Promise.race`); an API that takes an `AbortSignal` is better given `currentSignal()`.
 *
 * @throws {TypeError} If `promise` is not a promise or thenable.
 * @example
 * ```ts
 * import { wait, moveOnAfter } from "trellis";
 * const body = await moveOnAfter(1_000, () => wait(legacyClient.get(key)));
 * ```
 */
export function wait<T>(promise: PromiseLike<T>): Promise<T> {
  if (promise === null || (typeof promise !== "object" && typeof promise !== "function") || typeof promise.then !== "function") {
    return Promise.reject(new TypeError(`wait(): \`promise\` must be a promise or thenable, got ${show(promise)}`));
  }
  const scope = currentScope();
  // Debug mode reports a promise that rejects after its waiter abandoned it, with where wait() was called.
  const calledAt = scope?.runtime.debug === true ? (captureSpawnSite(wait, 4) ?? "") : undefined;
  // Refused at once in a cancelled context (park raises before registering): the abandoned
  // promise's later rejection must still be handled.
  if (scope?.cause != null) {
    promise.then(undefined, calledAt === undefined ? ignoreRejection : (error) => reportAbandoned(error, calledAt));
  }
  return park<T>(
    "wait(promise)",
    (parked) => {
      // Both handlers are attached at once: an abandoned promise that rejects later is handled.
      promise.then(
        (value) => wake(parked, value),
        (error) => {
          if (!wakeWithError(parked, error) && calledAt !== undefined) reportAbandoned(error, calledAt);
        },
      );
      parked.abort = () => true;
    },
    true,
    scope,
  );
}

function ignoreRejection(): void {}

/** Debug mode: a wait()ed promise rejected after its waiter was cancelled and had left. */
function reportAbandoned(error: unknown, calledAt: string): void {
  const what = error instanceof Error ? (error.stack ?? String(error)) : `a non-Error value: ${String(error)}`;
  const where = calledAt === "" ? "" : `  wait() was called:\n${calledAt.replace(/spawned at/g, "at")}\n`;
  try {
    process.stderr.write(
      `trellis: a promise passed to wait() rejected after its waiter had been cancelled and had abandoned it:\n${what}\n${where}` +
        `  The rejection was handled (it is not an unhandled rejection), but the operation went on after nobody waited for it: pass currentSignal() to it so that it stops when cancelled.\n`,
    );
  } catch {
    // stderr is gone.
  }
}

/**
 * Runs `fn` in a scope that is cancelled when the external `signal` aborts (source `"abort"`,
 * reason `signal.reason`); the listener is removed when `fn` ends.
 *
 * @returns `fn`'s result, or `undefined` if the abort ended it.
 * @example
 * ```ts
 * import { cancelOnAbort } from "trellis";
 * // Node's and Express's requests have no `signal`: abort one when the client goes away.
 * app.get("/report", async (req, res) => {
 *   const gone = new AbortController();
 *   res.on("close", () => { if (!res.writableFinished) gone.abort(new Error("client disconnected")); });
 *   await cancelOnAbort(gone.signal, async () => res.send(await buildReport()));
 * });
 * ```
 */
export async function cancelOnAbort<T>(signal: AbortSignal, fn: (scope: CancelScope) => T | PromiseLike<T>): Promise<T | undefined> {
  if (typeof signal !== "object" || signal === null || typeof signal.addEventListener !== "function" || typeof signal.aborted !== "boolean") {
    throw new TypeError(`cancelOnAbort(): \`signal\` must be an AbortSignal, got ${show(signal)}`);
  }
  requireFunction("cancelOnAbort()", "fn", fn);
  const scope = new UserScope();
  const onAbort = () => scope.cancelWith(signal.reason, "abort");
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await scope.run(fn);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
