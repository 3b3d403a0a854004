/**
 * `waitAllTasksBlocked()`: "let everything else run until it is stuck", the deterministic
 * replacement for `await sleep(50) // give the other tasks time` in tests.
 *
 * @module
 */
import { currentScope, getDefaultRuntime, park, show, wake } from "../core/index.js";

/** The largest delay Node's timers accept; a longer cushion would fire after 1 ms. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Returns once every other task of the run is blocked in a trellis wait (a sleep, a lock, a
 * channel, `wait(promise)`, a group waiting for its children…) and has stayed so for `cushion`
 * real milliseconds with no task waking in between. A checkpoint: raises `Cancelled` if the
 * caller is cancelled, before or while it waits.
 *
 * A task that awaits a foreign promise directly (`await fetch(url)`, `await new Promise(…)`)
 * is not blocked in trellis's eyes: it may resume at any moment, so this function waits for it.
 * Wrap such promises in `wait()` to make them count as blocked.
 *
 * With several callers, the smallest cushion returns first (ties: first come, first served).
 * A `MockClock`'s autojump never fires while a call is pending, so the clock does not move
 * under a test that is still waiting for things to settle.
 *
 * Outside `run()`, "the run" is every task trellis runs outside `run()` (the tasks of
 * `withTaskGroup` calls made from plain async code).
 *
 * @param cushion - Real milliseconds ≥ 0 the run must stay idle (default 0: returns as soon as
 *   every pending microtask has run and all tasks are still blocked).
 * @throws {RangeError} If `cushion` is negative, NaN, or not finite.
 * @throws {Cancelled} If the caller is cancelled.
 * @example
 * ```ts
 * import { run, withTaskGroup, openChannel } from "trellis";
 * import { waitAllTasksBlocked } from "trellis/testing";
 * await run(() => withTaskGroup(async (tg) => {
 *   const [send, receive] = openChannel<number>();
 *   tg.spawn(() => send.send(1));
 *   await waitAllTasksBlocked();   // the sender is now parked in send()
 *   console.log(send.statistics().tasksWaitingSend); // 1
 *   console.log(await receive.receive()); // 1
 * }));
 * ```
 */
export function waitAllTasksBlocked(cushion = 0): Promise<void> {
  if (typeof cushion !== "number" || Number.isNaN(cushion) || cushion < 0 || cushion > MAX_TIMER_MS) {
    return Promise.reject(
      new RangeError(
        `waitAllTasksBlocked(): \`cushion\` must be a finite number of real milliseconds ≥ 0 and ≤ ${MAX_TIMER_MS}, got ${show(cushion)}`,
      ),
    );
  }
  const runtime = currentScope()?.runtime ?? getDefaultRuntime();
  return park<void>(`waitAllTasksBlocked(${cushion})`, (parked) => {
    const withdraw = runtime.whenAllBlocked(cushion, () => wake(parked, undefined));
    parked.abort = () => {
      withdraw();
      return true;
    };
  });
}
