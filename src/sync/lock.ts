/**
 * Lock: a fair, non-reentrant mutex owned by the task that acquired it.
 *
 * Ownership: the holder is the task that called `acquire` (see holder.ts for code outside any
 * task). Handing over: `release` makes the first waiter the holder before it even resumes, so
 * nobody can slip in between (FIFO, and `tryAcquire` right after fails). Breaking: an owner that
 * ends while holding the lock can never release it; instead of hanging forever, its waiters and
 * every later acquirer get `BrokenResourceError`. We learn of the owner's end through a hook on
 * the task, registered only while someone waits (an uncontended lock costs nothing).
 *
 * @module
 */
import {
  BrokenResourceError,
  checkpointIfCancelled,
  requireFunction,
  RuntimeError,
  completeCheckpoint,
  currentScope,
  TaskImpl,
  WaitQueue,
  WouldBlock,
  type WaitDescriber,
} from "../core/index.js";
import { currentHolder, describeHolder, hasEnded, holderName, OUTSIDE_ANY_TASK, type Holder } from "./holder.js";
import { formatState, defineInspect } from "./inspect.js";

/**
 * What {@link Lock.statistics} reports.
 *
 * @example
 * ```ts
 * import { Lock } from "trellis";
 * const { locked, owner, tasksWaiting } = new Lock().statistics(); // false, undefined, 0
 * ```
 */
export interface LockStatistics {
  /** True while some task (or code outside any task) holds the lock. */
  readonly locked: boolean;
  /** The holder's task name, `"(outside any task)"`, or `undefined` when free. */
  readonly owner: string | undefined;
  /** How many tasks are waiting in {@link Lock.acquire} (including woken `Condition` waiters). */
  readonly tasksWaiting: number;
}

/** @internal What a Condition (and the lock's own queue) need of a lock: the engine's view of it. */
export interface LockInternals {
  holder(lock: Lock): Holder | undefined;
  waiters(lock: Lock): WaitQueue;
  watchOwner(lock: Lock): void;
}

/** @internal Set by Lock's static block (where its private members are in reach). */
export let lockInternals: LockInternals;

/**
 * A mutual-exclusion lock: one holder at a time, granted in the order tasks asked (FIFO). Only
 * the holder may release it, and the holder may not acquire it again (it is not re-entrant).
 * If the holding task ends without releasing, the lock is *broken*: waiters and later acquirers
 * get `BrokenResourceError` instead of hanging. Prefer {@link Lock.withLock}, which always releases.
 *
 * Outside any task (no `run()`, e.g. in an Express handler) all code counts as one anonymous
 * holder: the lock still excludes and queues such callers, but it cannot tell them apart, so
 * re-acquiring from the same code path waits (a deadlock) instead of throwing.
 *
 * @example
 * ```ts
 * import { Lock, withTaskGroup } from "trellis";
 * const lock = new Lock();
 * await withTaskGroup(async (tg) => {
 *   for (const entry of entries) tg.spawn(() => lock.withLock(() => appendToLog(entry)));
 * });
 * ```
 */
export class Lock {
  /** The current holder, or undefined when free. */
  #holder: Holder | undefined = undefined;
  /** Parked acquirers; each parked wait's `data` is the holder it will become. */
  readonly #waiters: WaitQueue = new LockQueue(this);
  /** The owner task whose exit hook we registered, if any. */
  private watched: TaskImpl<unknown> | undefined = undefined;
  private readonly ownerExited = (): void => {
    this.watched = undefined;
    if (hasEnded(this.#holder)) this.#waiters.breakAll(() => this.brokenError("Lock.acquire()"));
  };

  /**
   * True while the lock is held (by anyone). Never waits.
   *
   * @example
   * ```ts
   * import { Lock } from "trellis";
   * const lock = new Lock();
   * console.log(lock.locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#holder !== undefined;
  }

  /**
   * Takes the lock now if it is free and nobody is queued; never waits.
   *
   * @throws {WouldBlock} If the lock is held, or others are waiting for it.
   * @throws {RuntimeError} If the current task already holds it.
   * @throws {BrokenResourceError} If its holder ended without releasing it.
   * @example
   * ```ts
   * import { Lock, WouldBlock } from "trellis";
   * const lock = new Lock();
   * try { lock.tryAcquire(); } catch (err) { if (err instanceof WouldBlock) console.log("busy"); else throw err; }
   * ```
   */
  tryAcquire(): void {
    if (!this.#take(currentHolder(), "Lock.tryAcquire()")) {
      throw new WouldBlock(
        `Lock.tryAcquire(): the lock is held by ${describeHolder(this.#holder)}; use acquire() to wait for it`,
      );
    }
  }

  /**
   * Waits for the lock and takes it. A checkpoint: raises `Cancelled` first if the caller is
   * cancelled; a cancelled wait leaves the queue without taking the lock, while a wait that was
   * granted the lock before a cancellation arrived returns normally, holding it.
   *
   * @throws {Cancelled} If the caller is cancelled before it gets the lock.
   * @throws {RuntimeError} If the current task already holds the lock.
   * @throws {BrokenResourceError} If the holder ends (or has ended) without releasing it.
   * @example
   * ```ts
   * import { Lock } from "trellis";
   * const lock = new Lock();
   * await lock.acquire();
   * try { await writeFile(); } finally { lock.release(); }
   * ```
   */
  async acquire(): Promise<void> {
    checkpointIfCancelled();
    const me = currentHolder();
    if (this.#take(me, "Lock.acquire()")) {
      await completeCheckpoint(currentScope()); // with checkpointIfCancelled() above, one checkpoint
      return;
    }
    this.#watchOwner();
    await this.#waiters.park<void>(this.#waiters as LockQueue, me);
  }

  /**
   * Releases the lock; if tasks are waiting, the first one becomes the holder at once. Never waits.
   *
   * @throws {RuntimeError} If the current task does not hold the lock (message says who does).
   * @example
   * ```ts
   * import { Lock } from "trellis";
   * const lock = new Lock();
   * await lock.acquire();
   * lock.release();
   * ```
   */
  release(): void {
    const me = currentHolder();
    if (this.#holder !== me) {
      const who = this.#holder === undefined ? "nobody holds it" : `it is held by ${describeHolder(this.#holder)}`;
      throw new RuntimeError(
        `Lock.release(): ${describeHolder(me)} does not hold this lock (${who}); only the task that acquired a lock may release it`,
      );
    }
    this.#handOff();
  }

  /**
   * Acquires the lock, runs `fn`, and releases the lock however `fn` ends.
   *
   * @returns What `fn` returns.
   * @throws {TypeError} If `fn` is not a function.
   * @throws Whatever {@link Lock.acquire} or `fn` throws.
   * @example
   * ```ts
   * import { Lock } from "trellis";
   * const lock = new Lock();
   * const n = await lock.withLock(async () => (counter += 1));
   * ```
   */
  async withLock<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    requireFunction("Lock.withLock()", "fn", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * A fresh snapshot: `{ locked, owner, tasksWaiting }`.
   *
   * @example
   * ```ts
   * import { Lock } from "trellis";
   * const lock = new Lock();
   * console.log(lock.statistics()); // { locked: false, owner: undefined, tasksWaiting: 0 }
   * ```
   */
  statistics(): LockStatistics {
    return { locked: this.#holder !== undefined, owner: holderName(this.#holder), tasksWaiting: this.#waiters.length };
  }

  static {
    lockInternals = {
      holder: (lock) => lock.#holder,
      waiters: (lock) => lock.#waiters,
      watchOwner: (lock) => lock.#watchOwner(),
    };
    // Shows `Lock { locked: true, owner: 'worker', tasksWaiting: 1 }` in `console.log`.
    defineInspect(Lock, function (_depth, options, inspect) {
      const broken = hasEnded(this.#holder) ? { broken: true } : {};
      return formatState("Lock", { ...this.statistics(), ...broken }, options, inspect);
    });
  }

  /**
   * Takes the lock for `me` if it is free; false if `me` must wait. The lock is never
   * free while tasks wait (release hands it over), so "free" needs no look at the queue.
   */
  #take(me: Holder, where: string): boolean {
    const holder = this.#holder;
    if (holder === undefined) {
      this.#holder = me;
      return true;
    }
    if (holder === me && me !== OUTSIDE_ANY_TASK) {
      throw new RuntimeError(
        `${where}: ${describeHolder(me)} already holds this lock; a Lock is not re-entrant, so release it before acquiring it again (or do not acquire it in code that runs under it)`,
      );
    }
    if (hasEnded(holder)) throw this.brokenError(where);
    return false;
  }

  /** Gives the lock to the first waiter, or frees it. */
  #handOff(): void {
    this.unwatch();
    const next = this.#waiters.first();
    if (next === undefined) {
      this.#holder = undefined;
      return;
    }
    this.#holder = next.data as Holder;
    this.#waiters.wakeFirst(undefined);
    if (this.#waiters.length > 0) this.#watchOwner();
  }

  /** Called whenever a wait joins the queue: be told if the current owner ends. */
  #watchOwner(): void {
    const owner = this.#holder;
    if (!(owner instanceof TaskImpl) || this.watched === owner) return;
    this.unwatch();
    (owner.exitHooks ??= new Set()).add(this.ownerExited);
    this.watched = owner;
  }

  private unwatch(): void {
    this.watched?.exitHooks?.delete(this.ownerExited);
    this.watched = undefined;
  }

  private brokenError(where: string): BrokenResourceError {
    return new BrokenResourceError(
      `${where}: ${describeHolder(this.#holder)} ended while holding this lock, so it can never be released and the state it guards may be half-updated; the lock stays broken. Release locks with withLock() or try/finally`,
    );
  }
}

/** A lock's queue, which names the wait for the debug task tree: `Lock.acquire (held by task "db" #7)`. */
class LockQueue extends WaitQueue implements WaitDescriber {
  constructor(private readonly lock: Lock) {
    super();
  }

  describeWait(): string {
    const holder = lockInternals.holder(this.lock);
    if (holder === undefined) return "Lock.acquire";
    if (holder instanceof TaskImpl) return `Lock.acquire (held by task ${JSON.stringify(holder.name)} #${holder.id})`;
    return `Lock.acquire (held by ${describeHolder(holder)})`;
  }
}
