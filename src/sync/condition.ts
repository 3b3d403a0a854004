/**
 * Condition: a condition variable over a {@link Lock}.
 *
 * How a wait ends (Trio's design): `wait` releases the lock and parks on the condition's queue;
 * `notify` does not wake the waiter but *moves* its parked wait onto the lock's queue, so it
 * resumes only once the lock is handed to it — exactly as a contended `Lock.acquire` does. A
 * notified waiter that is cancelled before it gets the lock leaves the lock's queue and passes
 * its notification to the next waiter of the condition, so a `notify()` is never swallowed by
 * a waiter that went away. Every way out of `wait` (return, `Cancelled`) holds the lock again.
 *
 * @module
 */
import { CancelScope, RuntimeError, show, WaitQueue, requireCount, type AnyParked } from "../core/index.js";
import { currentHolder, describeHolder } from "./holder.js";
import { formatState, defineInspect } from "./inspect.js";
import { Lock, lockInternals, type LockStatistics } from "./lock.js";

/**
 * What {@link Condition.statistics} reports.
 *
 * @example
 * ```ts
 * import { Condition } from "trellis";
 * const { tasksWaiting, lockStatistics } = new Condition().statistics();
 * ```
 */
export interface ConditionStatistics {
  /** How many tasks are waiting in {@link Condition.wait} and have not been notified yet. */
  readonly tasksWaiting: number;
  /** The underlying lock's statistics (notified waiters queue there for the lock). */
  readonly lockStatistics: LockStatistics;
}

/**
 * A condition variable: tasks holding the lock `wait()` until another task, also holding it,
 * calls `notify()`. `wait()` releases the lock while waiting and holds it again when it returns
 * — also when it is cancelled. As with every condition variable, re-check your predicate in a
 * loop: by the time you hold the lock again, another task may have changed the state.
 * It also offers the lock's own methods, so `cond.withLock(…)` guards the shared state.
 *
 * @example
 * ```ts
 * import { Condition } from "trellis";
 * const cond = new Condition();
 * const queue: string[] = [];
 * // consumer
 * const job = await cond.withLock(async () => {
 *   while (queue.length === 0) await cond.wait();
 *   return queue.shift()!;
 * });
 * // producer
 * await cond.withLock(() => { queue.push("job"); cond.notify(); });
 * ```
 */
export class Condition {
  /**
   * The lock this condition uses; pass your own to the constructor to share it with other code.
   *
   * @example
   * ```ts
   * import { Condition, Lock } from "trellis";
   * const lock = new Lock();
   * const nonEmpty = new Condition(lock);
   * console.log(nonEmpty.lock === lock); // true
   * ```
   */
  readonly lock: Lock;
  private readonly waiters = new WaitQueue();

  /**
   * @param lock - The lock to use; a new {@link Lock} by default.
   * @throws {TypeError} If `lock` is given and is not a trellis `Lock`.
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(`new Condition(): \`lock\` must be a trellis Lock (or omitted), got ${show(lock)}`);
    }
    this.lock = lock ?? new Lock();
  }

  /**
   * True while the underlying lock is held. Never waits.
   *
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * console.log(new Condition().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.lock.locked();
  }

  /**
   * Takes the underlying lock now, or throws; see {@link Lock.tryAcquire}.
   *
   * @throws {WouldBlock} If the lock is held or others wait for it.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * cond.tryAcquire();
   * cond.release();
   * ```
   */
  tryAcquire(): void {
    this.lock.tryAcquire();
  }

  /**
   * Waits for the underlying lock and takes it; a checkpoint. See {@link Lock.acquire}.
   *
   * @throws {Cancelled} If the caller is cancelled before it gets the lock.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.acquire();
   * try { cond.notifyAll(); } finally { cond.release(); }
   * ```
   */
  acquire(): Promise<void> {
    return this.lock.acquire();
  }

  /**
   * Releases the underlying lock. See {@link Lock.release}.
   *
   * @throws {RuntimeError} If the current task does not hold the lock.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.acquire();
   * cond.release();
   * ```
   */
  release(): void {
    this.lock.release();
  }

  /**
   * Acquires the underlying lock, runs `fn`, releases the lock. See {@link Lock.withLock}.
   *
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.withLock(() => { ready = true; cond.notifyAll(); });
   * ```
   */
  withLock<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return this.lock.withLock(fn);
  }

  /**
   * Releases the lock, waits for a {@link Condition.notify}, and takes the lock again before
   * returning. A checkpoint. If the caller is cancelled, `wait` still takes the lock again
   * (shielded) before raising `Cancelled`, so a surrounding `withLock` or `finally { release() }`
   * stays correct; this can make cancellation less prompt while the lock is busy.
   *
   * @throws {RuntimeError} If the current task does not hold the lock.
   * @throws {Cancelled} If the caller is cancelled (the lock is held again when it is raised).
   * @throws {BrokenResourceError} If the lock's holder ends without releasing it meanwhile.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.withLock(async () => { while (!ready) await cond.wait(); });
   * ```
   */
  async wait(): Promise<void> {
    const me = currentHolder();
    this.requireHolder(me, "Condition.wait()");
    this.lock.release();
    try {
      await this.waiters.park<void>("Condition.wait", me);
    } catch (err) {
      await new CancelScope({ shield: true }).run(() => this.lock.acquire());
      throw err;
    }
  }

  /**
   * Wakes up to `n` waiting tasks, in the order they started waiting; each resumes once it gets
   * the lock (after the caller releases it). Never waits. Waking nobody is fine.
   *
   * @param n - How many waiters to wake: an integer ≥ 0, or `Infinity`. Default 1.
   * @throws {RuntimeError} If the current task does not hold the lock.
   * @throws {RangeError} If `n` is negative, fractional or NaN.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.withLock(() => { items.push(item); cond.notify(); });
   * ```
   */
  notify(n = 1): void {
    requireCount("Condition.notify()", "n", n, 0, true);
    this.requireHolder(currentHolder(), "Condition.notify()");
    for (let i = 0; i < n && this.moveFirstToLock(); i++);
  }

  /**
   * Wakes every waiting task; each resumes once it gets the lock. Never waits.
   *
   * @throws {RuntimeError} If the current task does not hold the lock.
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * const cond = new Condition();
   * await cond.withLock(() => { closed = true; cond.notifyAll(); });
   * ```
   */
  notifyAll(): void {
    this.requireHolder(currentHolder(), "Condition.notifyAll()");
    while (this.moveFirstToLock());
  }

  /**
   * A fresh snapshot: `{ tasksWaiting, lockStatistics }`.
   *
   * @example
   * ```ts
   * import { Condition } from "trellis";
   * console.log(new Condition().statistics().tasksWaiting); // 0
   * ```
   */
  statistics(): ConditionStatistics {
    return { tasksWaiting: this.waiters.length, lockStatistics: this.lock.statistics() };
  }

  static {
    // Shows `Condition { tasksWaiting: 2, lockStatistics: { … } }` in `console.log`.
    defineInspect(Condition, function (_depth, options, inspect) {
      return formatState("Condition", this.statistics(), options, inspect);
    });
  }

  /**
   * Moves the first waiter onto the lock's queue (it resumes when the lock is handed to it). If
   * it is cancelled there, it leaves that queue and the notification moves on to the next one.
   */
  private moveFirstToLock(): boolean {
    const lockQueue = lockInternals.waiters(this.lock);
    const parked: AnyParked | undefined = this.waiters.moveFirstTo(lockQueue);
    if (parked === undefined) return false;
    parked.abort = () => {
      lockQueue.remove(parked);
      this.moveFirstToLock();
      return true;
    };
    lockInternals.watchOwner(this.lock);
    return true;
  }

  private requireHolder(me: unknown, where: string): void {
    if (lockInternals.holder(this.lock) === me) return;
    const holder = lockInternals.holder(this.lock);
    const who = holder === undefined ? "nobody holds it" : `it is held by ${describeHolder(holder)}`;
    throw new RuntimeError(
      `${where}: ${describeHolder(me)} does not hold the condition's lock (${who}); acquire it first, e.g. cond.withLock(async () => { … })`,
    );
  }
}
