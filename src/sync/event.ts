/**
 * Event: a flag that starts false, can be set once, and can be waited for.
 *
 * @module
 */
import { checkpoint, WaitQueue } from "../core/index.js";
import { formatState, defineInspect } from "./inspect.js";

/**
 * What {@link Event.statistics} reports.
 *
 * @example
 * ```ts
 * import { Event } from "trellis";
 * const { tasksWaiting } = new Event().statistics(); // 0
 * ```
 */
export interface EventStatistics {
  /** How many waits are parked in {@link Event.wait}. */
  readonly tasksWaiting: number;
}

/**
 * A one-shot signal between tasks: `wait()` blocks until someone calls `set()`, and returns at
 * once afterwards. It does not matter whether `set()` comes before or after `wait()`, so no
 * wake-up is ever lost. An event cannot be cleared: once something has happened it cannot
 * un-happen; for a series of happenings make a new `Event` each time (they are cheap), or use
 * a channel.
 *
 * @example
 * ```ts
 * import { Event, withTaskGroup } from "trellis";
 * const ready = new Event();
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(async () => { await ready.wait(); console.log("go"); });
 *   await loadConfig();
 *   ready.set();
 * });
 * ```
 */
export class Event {
  private flag = false;
  private readonly waiters = new WaitQueue();

  /**
   * True once {@link Event.set} has been called. Never waits.
   *
   * @example
   * ```ts
   * import { Event } from "trellis";
   * const done = new Event();
   * if (!done.isSet()) console.log("still running");
   * ```
   */
  isSet(): boolean {
    return this.flag;
  }

  /**
   * Sets the flag and wakes every waiting task. Idempotent; never waits, never throws.
   *
   * @example
   * ```ts
   * import { Event } from "trellis";
   * const shutdown = new Event();
   * process.once("SIGHUP", () => shutdown.set());
   * ```
   */
  set(): void {
    if (this.flag) return;
    this.flag = true;
    this.waiters.wakeMany(Infinity, undefined);
  }

  /**
   * Waits until the flag is set; returns at once (after a checkpoint) if it already is.
   * A checkpoint: raises `Cancelled` if the caller is cancelled before the event is set; a wait
   * that the event ended before a cancellation arrived returns normally.
   *
   * @throws {Cancelled} If the caller is cancelled first.
   * @example
   * ```ts
   * import { Event, moveOnAfter } from "trellis";
   * const connected = new Event();
   * await moveOnAfter(5_000, () => connected.wait());
   * ```
   */
  wait(): Promise<void> {
    if (this.flag) return checkpoint();
    return this.waiters.park<void>("Event.wait");
  }

  /**
   * A fresh snapshot: `{ tasksWaiting }`.
   *
   * @example
   * ```ts
   * import { Event } from "trellis";
   * console.log(new Event().statistics().tasksWaiting); // 0
   * ```
   */
  statistics(): EventStatistics {
    return { tasksWaiting: this.waiters.length };
  }

  static {
    // Shows `Event { set: false, tasksWaiting: 2 }` in `console.log`.
    defineInspect(Event, function (_depth, options, inspect) {
      return formatState("Event", { set: this.flag, tasksWaiting: this.waiters.length }, options, inspect);
    });
  }
}
