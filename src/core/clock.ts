/**
 * The clock a run measures time with. `run(main, { clock })` accepts any implementation; the
 * default reads `performance.now()`. `MockClock` in `trellis/testing` implements it with
 * virtual time.
 *
 * @module
 */

/** What the runtime offers a clock that wants to drive time itself (a mock clock). */
export interface ClockHost {
  /** The earliest pending deadline of the run (a sleep or a scope's deadline), `Infinity` if none. */
  nextDeadline(): number;
  /** Call after the clock's time moved by itself (a jump): fires what has expired and re-arms. */
  timeChanged(): void;
  /**
   * Calls `callback` once every task of the run has been blocked in a trellis wait for
   * `cushionMs` real milliseconds with nothing waking in between. Returns a function that
   * withdraws the request. A `lowPriority` watcher (the mock clock's autojump) fires only while
   * no other watcher is waiting, and only while the run has a pending deadline.
   */
  whenAllBlocked(cushionMs: number, callback: () => void, lowPriority?: boolean): () => void;
}

/**
 * A source of monotonic time in milliseconds.
 *
 * @example
 * ```ts
 * import { run, type Clock } from "trellis";
 * const offset: Clock = { now: () => performance.now() + 1000, deadlineToSleepTime: (d) => d - offset.now() };
 * await run(main, { clock: offset });
 * ```
 */
export interface Clock {
  /** Current time in milliseconds; never goes backwards. */
  now(): number;
  /**
   * How many real milliseconds to wait for the clock to reach `deadline` (≤ 0: already
   * reached; `Infinity`: time will not get there by itself, e.g. a stopped mock clock).
   */
  deadlineToSleepTime(deadline: number): number;
  /** Called by `run()` when it starts using this clock. */
  attach?(host: ClockHost): void;
  /** Called by `run()` when it has finished with this clock. */
  detach?(host: ClockHost): void;
}

/**
 * The default clock: `performance.now()`, real time.
 *
 * @example
 * ```ts
 * import { run, systemClock } from "trellis";
 * await run(main, { clock: systemClock }); // the same as leaving `clock` out
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  deadlineToSleepTime: (deadline) => deadline - performance.now(),
};
