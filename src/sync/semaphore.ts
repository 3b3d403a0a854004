/**
 * Semaphore: a counter of permits that `acquire` takes (waiting at zero) and `release` returns.
 *
 * Invariant: while tasks wait, the value is 0 — `release` hands its permit straight to the first
 * waiter instead of incrementing, so FIFO order holds and `tryAcquire` cannot jump the queue.
 *
 * @module
 */
import {
  currentScope,
  requireFunction,
  requireOptions,
  RuntimeError,
  completeCheckpoint,
  WaitQueue,
  WouldBlock,
  requireCount,
  rejectIfCancelled,
} from "../core/index.js";
import { formatState, defineInspect } from "./inspect.js";

/**
 * Options of {@link Semaphore}.
 *
 * @example
 * ```ts
 * import { Semaphore, type SemaphoreOptions } from "trellis";
 * const options: SemaphoreOptions = { max: 4 };
 * const sem = new Semaphore(4, options);
 * ```
 */
export interface SemaphoreOptions {
  /** Makes the semaphore bounded: `release()` that would raise the value above `max` throws. An integer ≥ `initial`. */
  readonly max?: number;
}

/**
 * What {@link Semaphore.statistics} reports.
 *
 * @example
 * ```ts
 * import { Semaphore } from "trellis";
 * const { value, max, tasksWaiting } = new Semaphore(2).statistics(); // 2, undefined, 0
 * ```
 */
export interface SemaphoreStatistics {
  /** Permits available now. */
  readonly value: number;
  /** The bound given as `options.max`, or `undefined`. */
  readonly max: number | undefined;
  /** How many tasks are waiting in {@link Semaphore.acquire}. */
  readonly tasksWaiting: number;
}

/**
 * A classic counting semaphore: `acquire()` takes a permit, waiting while there are none;
 * `release()` returns one. Waiters are served in FIFO order. Permits are not owned — any code
 * may release — which makes it flexible but unchecked; to bound how many tasks do something at
 * once, {@link CapacityLimiter} adds the checks (who holds what). A bounded semaphore
 * (`{ max }`) catches releasing more than was acquired.
 *
 * @example
 * ```ts
 * import { Semaphore, withTaskGroup } from "trellis";
 * const connections = new Semaphore(3);
 * await withTaskGroup(async (tg) => {
 *   for (const url of urls) tg.spawn(() => connections.withPermit(() => fetchPage(url)));
 * });
 * ```
 */
export class Semaphore {
  private _value: number;
  private readonly _max: number | undefined;
  private readonly waiters = new WaitQueue();

  /**
   * @param initial - Permits available at the start: an integer ≥ 0.
   * @param options - `{ max }`: an integer ≥ `initial` bounding the value.
   * @throws {RangeError} If `initial` or `max` is negative, fractional, NaN or Infinity, or `max < initial`.
   * @throws {TypeError} If `initial` or `max` is not a number, or `options` not an object.
   */
  constructor(initial: number, options?: SemaphoreOptions) {
    this._value = requireCount("new Semaphore()", "initial", initial, 0, false);
    requireOptions("new Semaphore()", options);
    if (options?.max != null) {
      const max = requireCount("new Semaphore()", "options.max", options.max, 0, false);
      if (max < initial) {
        throw new RangeError(`new Semaphore(): \`options.max\` must be ≥ \`initial\` (${initial}), got ${max}`);
      }
      this._max = max;
    }
  }

  /**
   * Permits available now (0 while tasks wait).
   *
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * console.log(new Semaphore(2).value); // 2
   * ```
   */
  get value(): number {
    return this._value;
  }

  /**
   * The bound given as `options.max`, or `undefined` for an unbounded semaphore.
   *
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * console.log(new Semaphore(1, { max: 1 }).max); // 1
   * ```
   */
  get max(): number | undefined {
    return this._max;
  }

  /**
   * Takes a permit now if one is available; never waits.
   *
   * @throws {WouldBlock} If the value is 0.
   * @example
   * ```ts
   * import { Semaphore, WouldBlock } from "trellis";
   * const sem = new Semaphore(1);
   * sem.tryAcquire(); // now sem.value === 0; another tryAcquire() throws WouldBlock
   * ```
   */
  tryAcquire(): void {
    if (this._value === 0) {
      throw new WouldBlock("Semaphore.tryAcquire(): no permit is available; use acquire() to wait for one");
    }
    this._value--;
  }

  /**
   * Takes a permit, waiting for one if the value is 0. A checkpoint: raises `Cancelled` first if
   * the caller is cancelled; a cancelled wait leaves the queue without taking a permit, and a
   * wait that was handed a permit before a cancellation arrived returns normally with it.
   *
   * @throws {Cancelled} If the caller is cancelled before it gets a permit.
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * const sem = new Semaphore(2);
   * await sem.acquire();
   * try { await work(); } finally { sem.release(); }
   * ```
   */
  acquire(): Promise<void> {
    // Not an async function: a long line of waiters would each keep a suspended frame.
    const scope = currentScope();
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    if (this._value > 0) {
      this._value--;
      return completeCheckpoint(scope);
    }
    return this.waiters.park<void>("Semaphore.acquire", undefined, scope);
  }

  /**
   * Returns a permit: to the first waiter if any (the value stays 0), otherwise to the counter.
   * Never waits.
   *
   * @throws {RuntimeError} If the semaphore is bounded and its value is already `max`.
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * const sem = new Semaphore(0);
   * sem.release(); // sem.value === 1
   * ```
   */
  release(): void {
    if (this.waiters.wakeFirst(undefined) !== undefined) return;
    if (this._max !== undefined && this._value >= this._max) {
      throw new RuntimeError(
        `Semaphore.release(): the value is already at its max (${this._max}), so this release has no matching acquire; release once per acquire (withPermit() does it for you)`,
      );
    }
    this._value++;
  }

  /**
   * Acquires a permit, runs `fn`, and releases the permit however `fn` ends.
   *
   * @returns What `fn` returns.
   * @throws {TypeError} If `fn` is not a function.
   * @throws Whatever {@link Semaphore.acquire} or `fn` throws.
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * const sem = new Semaphore(4);
   * const page = await sem.withPermit(() => fetchPage(url));
   * ```
   */
  async withPermit<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    requireFunction("Semaphore.withPermit()", "fn", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * A fresh snapshot: `{ value, max, tasksWaiting }`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "trellis";
   * console.log(new Semaphore(3).statistics()); // { value: 3, max: undefined, tasksWaiting: 0 }
   * ```
   */
  statistics(): SemaphoreStatistics {
    return { value: this._value, max: this._max, tasksWaiting: this.waiters.length };
  }

  static {
    // Shows `Semaphore { value: 0, max: undefined, tasksWaiting: 2 }` in `console.log`.
    defineInspect(Semaphore, function (_depth, options, inspect) {
      return formatState("Semaphore", this.statistics(), options, inspect);
    });
  }
}
