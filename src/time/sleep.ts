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
  Parked,
  parkWait,
  type WaitRegistrar,
  type ScopeNode,
  type Runtime,
  type TimerEntry,
  type TimerLink,
  type WaitAborter,
  type WaitDescriber,
} from "../core/index.js";

/** `sleep until 1234.5`: formatted only when a task tree or an instrument asks. */
const sleepLabel: WaitDescriber = {
  describeWait: (parked) => `sleep until ${formatTime((parked as SleepWait).deadline)}`,
};

function formatTime(t: number): string {
  return Number.isFinite(t) ? t.toFixed(1) : String(t);
}

/**
 * A sleeping wait that is also its own entry in the run's deadline queue (the queue's links
 * live on it: queueing allocates nothing) and its own abort handler: one object per sleep.
 */
class SleepWait extends Parked<void> implements TimerEntry, WaitAborter, WaitRegistrar<void> {
  nextTimer: TimerLink | undefined = undefined;
  prevTimer: TimerLink | undefined = undefined;
  constructor(
    scope: ScopeNode | undefined,
    public deadline: number,
  ) {
    super(scope, sleepLabel);
    this.abort = this;
  }
  /** A pending sleep keeps the process alive, as `setTimeout` does (a getter: no field per sleep). */
  get keepAlive(): boolean {
    return true;
  }
  fire(): void {
    wake(this, undefined);
  }
  /** The park: into the run's deadline queue. */
  registerWait(): void {
    this.runtime.addTimer(this);
  }
  abortWait(): boolean {
    this.runtime.removeTimer(this);
    return true;
  }
}

/** `now` is the run's clock, read once by the caller (sleep() has just read it to make `deadline`). */
function sleepUntilDeadline(
  scope: ScopeNode | undefined,
  runtime: Runtime,
  deadline: number,
  now: number,
  label: string,
): Promise<void> {
  // `label` names the waits without a deadline (sleepForever); timed ones say `sleep until t`.
  if (deadline <= now) return checkpoint();
  if (deadline === Infinity) {
    return park<void>(
      label,
      (parked) => {
        const release = runtime.holdOpen();
        parked.abort = () => (release(), true);
      },
      true,
      scope,
    );
  }
  const wait = new SleepWait(scope, deadline);
  return parkWait(wait, wait);
}

/**
 * Waits `ms` milliseconds on the run's clock; a checkpoint. `sleep(0)` just yields. A pending
 * sleep keeps the process alive as `setTimeout` does; a cancelled one releases it at once.
 *
 * @param ms - Milliseconds ≥ 0; `Infinity` sleeps until cancelled.
 * @throws {RangeError} If `ms` is negative or NaN.
 * @throws {TypeError} If `ms` is not a number (`sleep("100")`).
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
  const scope = currentScope();
  const runtime = scope?.runtime ?? getDefaultRuntime();
  const now = runtime.now();
  return sleepUntilDeadline(scope, runtime, now + ms, now, "sleep");
}

/**
 * Waits until the run's clock reaches `deadline`; a checkpoint. Never returns earlier.
 *
 * @param deadline - A time on the run's clock (see `currentTime()`); `Infinity` waits until cancelled.
 * @throws {RangeError} If `deadline` is NaN.
 * @throws {TypeError} If `deadline` is not a number.
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
  const scope = currentScope();
  const runtime = scope?.runtime ?? getDefaultRuntime();
  return sleepUntilDeadline(scope, runtime, deadline, runtime.now(), "sleepUntil");
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
  const scope = currentScope();
  const runtime = scope?.runtime ?? getDefaultRuntime();
  return sleepUntilDeadline(scope, runtime, Infinity, runtime.now(), "sleepForever") as Promise<never>;
}
