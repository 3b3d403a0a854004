/**
 * Fair scheduling (DESIGN.md choice 6). A schedule point normally yields one microtask, the
 * cheapest way to let every other runnable task take a turn. But microtasks run before any
 * timer or I/O callback, so a task looping on checkpoints would starve them; once the current
 * slice of microtask work has lasted {@link SLICE_MS}, schedule points yield to a macrotask
 * (setImmediate) instead, so a loop of checkpoints lets timers and I/O in every few ms.
 *
 * @module
 */

/** @internal How long a burst of microtask-level work may run before schedule points yield to the event loop. */
export const SLICE_MS = 4;
/** The clock is read once every this many schedule points, to keep the common path cheap. */
const SAMPLE_EVERY = 64;

let ticks = 0;
let sliceStart = -1;
let macrotask: Promise<void> | undefined;

function endSlice(): void {
  sliceStart = -1;
}

/** @internal True when the current burst of work has run long enough to let the event loop in. */
export function sliceExpired(): boolean {
  if (++ticks % SAMPLE_EVERY !== 0) return false;
  const now = performance.now();
  if (sliceStart < 0) {
    sliceStart = now;
    // Runs at the next check phase, i.e. once the event loop did get a turn. Housekeeping:
    // unref'd, so it never keeps the process alive nor outlives run() as an active handle.
    setImmediate(endSlice).unref();
    return false;
  }
  return now - sliceStart > SLICE_MS;
}

/** @internal One shared promise resolved by setImmediate: every task over budget waits on it. */
export function yieldToEventLoop(): Promise<void> {
  macrotask ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      macrotask = undefined;
      sliceStart = -1;
      resolve();
    });
  });
  return macrotask;
}
