/**
 * Sleeping: a park with an entry in the run's deadline queue (no timer per sleep).
 *
 * @module
 */
import {
  checkpoint,
  currentScope,
  getDefaultRuntime,
  park,
  requireDeadline,
  requireDuration,
  wake,
  type Parked,
  type Runtime,
  type TimerEntry,
  type WaitAborter,
} from "../core/index.js";

function currentRuntime(): Runtime {
  return currentScope()?.runtime ?? getDefaultRuntime();
}

/** A sleep's place in the run's deadline queue; it also withdraws the sleep when cancelled. */
class SleepEntry implements TimerEntry, WaitAborter {
  seq = 0;
  index = -1;
  dead = false;
  readonly keepAlive = true;
  constructor(
    public deadline: number,
    private readonly parked: Parked<void>,
    private readonly runtime: Runtime,
  ) {}
  fire(): void {
    wake(this.parked, undefined);
  }
  abortWait(): boolean {
    this.runtime.removeTimer(this);
    return true;
  }
}

function sleepUntilDeadline(runtime: Runtime, deadline: number, label: string): Promise<void> {
  if (deadline <= runtime.now()) return checkpoint();
  return park<void>(label, (parked) => {
    if (deadline === Infinity) {
      const release = runtime.holdOpen();
      parked.abort = () => (release(), true);
      return;
    }
    const entry = new SleepEntry(deadline, parked, runtime);
    runtime.addTimer(entry);
    parked.abort = entry;
  });
}

/**
 * Waits `ms` milliseconds on the run's clock; a checkpoint. `sleep(0)` just yields. A pending
 * sleep keeps the process alive as `setTimeout` does; a cancelled one releases it at once.
 *
 * @param ms - Milliseconds ≥ 0; `Infinity` sleeps until cancelled.
 * @throws {RangeError} If `ms` is negative or NaN.
 * @throws {Cancelled} If the caller is cancelled before or during the sleep.
 * @example
 * ```ts
 * import { sleep } from "trellis";
 * for (;;) { await poll(); await sleep(1_000); }
 * ```
 */
export function sleep(ms: number): Promise<void> {
  try {
    requireDuration("sleep()", "ms", ms);
  } catch (err) {
    return Promise.reject(err);
  }
  const runtime = currentRuntime();
  return sleepUntilDeadline(runtime, runtime.now() + ms, "sleep");
}

/**
 * Waits until the run's clock reaches `deadline`; a checkpoint. Never returns earlier.
 *
 * @param deadline - A time on the run's clock (see `currentTime()`); `Infinity` waits until cancelled.
 * @throws {RangeError} If `deadline` is NaN.
 * @example
 * ```ts
 * import { currentTime, sleepUntil } from "trellis";
 * const start = currentTime();
 * for (let i = 1; ; i++) { tick(); await sleepUntil(start + i * 100); } // no drift
 * ```
 */
export function sleepUntil(deadline: number): Promise<void> {
  try {
    requireDeadline("sleepUntil()", "deadline", deadline);
  } catch (err) {
    return Promise.reject(err);
  }
  return sleepUntilDeadline(currentRuntime(), deadline, "sleepUntil");
}

/**
 * Waits until cancelled; keeps the process alive meanwhile (so a service that parks its main
 * task here waits for Ctrl-C).
 *
 * @example
 * ```ts
 * import { run, sleepForever } from "trellis";
 * await run(async () => { startServer(); await sleepForever(); }); // until Ctrl-C
 * ```
 */
export function sleepForever(): Promise<never> {
  return sleepUntilDeadline(currentRuntime(), Infinity, "sleepForever") as Promise<never>;
}
