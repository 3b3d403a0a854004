/**
 * CapacityLimiter: Trio's sack of tokens, each borrowed by one borrower at a time.
 *
 * Bookkeeping: `borrowers` holds who has a token; `pending` which borrowers are queued for one
 * by *another* caller (a job id, a worker, or a task handle passed to `acquireOnBehalfOf` by a
 * different task), so nobody can borrow twice, even by queueing twice. A task queued for
 * itself is not in `pending`: see {@link CapacityLimiter.isPending} for why it need not be.
 * Code outside any task is one anonymous borrower counted in `outside`, which may hold several
 * tokens (see holder.ts). Tokens freed by a release or by raising `totalTokens` are handed to
 * waiters in order before they resume, and only while `borrowedTokens < totalTokens`: after
 * `totalTokens` was lowered below `borrowedTokens`, releases first bring the count down, so no
 * raise can ever admit more than `totalTokens` at once.
 *
 * @module
 */
import {
  admitFromRun,
  queuedTaskAdjustment,
  TaskRun,
  TASK_LIMITER,
  type SpawnLimiter,
  type TaskLimiter,
  completeCheckpoint,
  countCheckpoint,
  currentScope,
  parkWait,
  QueuedWait,
  sliceExpired,
  yieldToEventLoop,
  type ScopeNode,
  type AnyParked,
  type WaitAborter,
  requireFunction,
  RuntimeError,
  TaskImpl,
  WaitQueue,
  WouldBlock,
  requireCount,
  rejectIfCancelled,
} from "../core/index.js";
import { currentHolder, describeHolder, OUTSIDE_ANY_TASK } from "./holder.js";
import { formatState, defineInspect } from "./inspect.js";

/**
 * What {@link CapacityLimiter.statistics} reports.
 *
 * @example
 * ```ts
 * import { CapacityLimiter } from "trellis";
 * const { borrowedTokens, totalTokens, borrowers, tasksWaiting } = new CapacityLimiter(4).statistics();
 * ```
 */
export interface CapacityLimiterStatistics {
  /** Tokens borrowed now. */
  readonly borrowedTokens: number;
  /** The size of the sack (may be below `borrowedTokens` right after it was lowered). */
  readonly totalTokens: number;
  /** Who holds the tokens: tasks (as `Task` handles) and the borrowers given to `…OnBehalfOf`. */
  readonly borrowers: readonly unknown[];
  /** How many acquires are waiting for a token. */
  readonly tasksWaiting: number;
}

/**
 * Bounds how many tasks do something at once: a sack of `totalTokens` tokens; `acquire()`
 * borrows one (waiting, in FIFO order, while none is left), `release()` puts it back. Unlike a
 * {@link Semaphore} it checks its users: each borrower (by default the current task) holds at
 * most one token, and only a borrower that holds one may give it back. `totalTokens` can be
 * changed at any time; raising it wakes waiters at once, lowering it lets current holders
 * finish. Compared with p-limit, waiting for a token can be cancelled like any trellis wait,
 * and the work it guards runs in your task, under your cancel scopes.
 *
 * Outside any task (no `run()`), the default borrower is one anonymous borrower shared by all
 * such code, allowed several tokens; pass your own borrower to `…OnBehalfOf` to get the checks.
 *
 * @example
 * ```ts
 * import { CapacityLimiter, withTaskGroup } from "trellis";
 * const limiter = new CapacityLimiter(8);
 * await withTaskGroup(async (tg) => {
 *   for (const file of files) tg.spawn(() => limiter.withToken(() => compress(file)));
 * });
 * ```
 */
export class CapacityLimiter implements SpawnLimiter {
  private total: number;
  /** What `tg.spawn(fn, { limiter })` drives (core's limited-spawn.ts), made on first use. */
  #taskLimiter: TaskLimiter | undefined = undefined;
  private readonly borrowers = new Set<unknown>();
  private readonly pending = new Set<unknown>();
  /** Tokens held by code outside any task. */
  private outside = 0;
  private readonly waiters = new WaitQueue();

  /**
   * @param total - How many tokens: an integer ≥ 0, or `Infinity`. With 0 nobody is admitted
   *   until `totalTokens` is raised (a paused pool).
   * @throws {RangeError} If `total` is negative, fractional or NaN.
   * @throws {TypeError} If `total` is not a number.
   */
  constructor(total: number) {
    this.total = requireCount("new CapacityLimiter()", "total", total, 0, true);
  }

  /**
   * The size of the sack. Settable (an integer ≥ 0, or `Infinity`): raising it hands the new
   * tokens to waiting tasks at once, in order; lowering it below `borrowedTokens` takes nothing
   * away, it only keeps new borrowers out until enough tokens come back, so a later raise never
   * admits more than `totalTokens` at once. 0 pauses: nobody is admitted until it is raised.
   *
   * @throws {RangeError} On assignment of a negative, fractional or NaN value.
   * @throws {TypeError} On assignment of a value that is not a number.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(2);
   * limiter.totalTokens = 10; // waiting tasks start at once
   * ```
   */
  get totalTokens(): number {
    return this.total;
  }

  set totalTokens(value: number) {
    this.total = requireCount("CapacityLimiter.totalTokens", "totalTokens", value, 0, true);
    this.wakeWaiters();
  }

  /**
   * Tokens borrowed now.
   *
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * console.log(new CapacityLimiter(3).borrowedTokens); // 0
   * ```
   */
  get borrowedTokens(): number {
    return this.borrowers.size + this.outside;
  }

  /**
   * Tokens that could be borrowed now: `totalTokens - borrowedTokens`, never below 0 (Trio's
   * may be negative right after `totalTokens` was lowered; "none" is the useful answer).
   *
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * console.log(new CapacityLimiter(3).availableTokens); // 3
   * ```
   */
  get availableTokens(): number {
    return Math.max(0, this.total - this.borrowedTokens);
  }

  /**
   * Borrows a token for the current task now, or throws; never waits.
   *
   * @throws {WouldBlock} If no token is free, or others are waiting for one.
   * @throws {RuntimeError} If the current task already holds (or waits for) a token of this limiter.
   * @example
   * ```ts
   * import { CapacityLimiter, WouldBlock } from "trellis";
   * const limiter = new CapacityLimiter(1);
   * try { limiter.tryAcquire(); } catch (err) { if (!(err instanceof WouldBlock)) throw err; }
   * ```
   */
  tryAcquire(): void {
    this.tryFor(currentHolder(), "CapacityLimiter.tryAcquire()");
  }

  /**
   * Borrows a token for `borrower` now, or throws; never waits.
   *
   * @param borrower - Any value except `undefined`/`null` that stands for who holds the token
   *   (a job id, a worker object); the same value must be passed to {@link CapacityLimiter.releaseOnBehalfOf}.
   * @throws {WouldBlock} If no token is free, or others are waiting for one.
   * @throws {RuntimeError} If `borrower` already holds (or waits for) a token of this limiter.
   * @throws {TypeError} If `borrower` is `undefined` or `null`.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(4);
   * limiter.tryAcquireOnBehalfOf(job.id);
   * ```
   */
  tryAcquireOnBehalfOf(borrower: unknown): void {
    const where = "CapacityLimiter.tryAcquireOnBehalfOf()";
    this.tryFor(requireBorrower(where, borrower), where);
  }

  /**
   * Borrows a token for the current task, waiting in line while none is free. A checkpoint:
   * raises `Cancelled` first if the caller is cancelled; a cancelled wait leaves the line
   * without a token, and a wait handed a token before a cancellation arrived returns with it.
   *
   * @throws {Cancelled} If the caller is cancelled before it gets a token.
   * @throws {RuntimeError} If the current task already holds (or waits for) a token of this limiter.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(4);
   * await limiter.acquire();
   * try { await upload(); } finally { limiter.release(); }
   * ```
   */
  acquire(): Promise<void> {
    return this.acquireFor(currentHolder(), "CapacityLimiter.acquire()");
  }

  /**
   * Borrows a token for `borrower`, waiting in line while none is free; a checkpoint, as
   * {@link CapacityLimiter.acquire}. Use it when the token belongs to something other than the
   * calling task (a worker thread, a job handed to another task).
   *
   * @param borrower - Any value except `undefined`/`null`; see {@link CapacityLimiter.tryAcquireOnBehalfOf}.
   * @throws {Cancelled} If the caller is cancelled before it gets a token.
   * @throws {RuntimeError} If `borrower` already holds (or waits for) a token of this limiter.
   * @throws {TypeError} If `borrower` is `undefined` or `null`.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(4);
   * await limiter.acquireOnBehalfOf(worker);
   * worker.postMessage(job); // later: limiter.releaseOnBehalfOf(worker)
   * ```
   */
  acquireOnBehalfOf(borrower: unknown): Promise<void> {
    const where = "CapacityLimiter.acquireOnBehalfOf()";
    try {
      requireBorrower(where, borrower);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.acquireFor(borrower, where);
  }

  /**
   * Puts the current task's token back; the first waiter gets it at once. Never waits.
   *
   * @throws {RuntimeError} If the current task holds no token of this limiter.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(1);
   * await limiter.acquire();
   * limiter.release();
   * ```
   */
  release(): void {
    this.releaseFor(currentHolder(), "CapacityLimiter.release()");
  }

  /**
   * Puts `borrower`'s token back; the first waiter gets it at once. Never waits.
   *
   * @throws {RuntimeError} If `borrower` holds no token of this limiter.
   * @throws {TypeError} If `borrower` is `undefined` or `null`.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(1);
   * limiter.tryAcquireOnBehalfOf("job 7");
   * limiter.releaseOnBehalfOf("job 7");
   * ```
   */
  releaseOnBehalfOf(borrower: unknown): void {
    const where = "CapacityLimiter.releaseOnBehalfOf()";
    this.releaseFor(requireBorrower(where, borrower), where);
  }

  /**
   * Borrows a token for the current task, runs `fn`, and puts the token back however `fn` ends.
   *
   * @returns What `fn` returns.
   * @throws {TypeError} If `fn` is not a function.
   * @throws Whatever {@link CapacityLimiter.acquire} or `fn` throws.
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(8);
   * const thumb = await limiter.withToken(() => resize(image));
   * ```
   */
  withToken<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    // Not an async function (one would cost a frame and two awaits per call): the check-try-park
    // skeleton of acquireFor, with `fn` carried by the wait itself, which the token is handed to.
    const where = "CapacityLimiter.withToken()";
    const scope = currentScope();
    const borrower = scope?.task ?? OUTSIDE_ANY_TASK; // currentHolder(), from the scope just read
    try {
      requireFunction(where, "fn", fn);
    } catch (err) {
      return Promise.reject(err);
    }
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    const call = new TokenWait<T>(scope, fn, borrower);
    try {
      if (this.take(borrower, where)) {
        // The cancel check above and this schedule point make the checkpoint (as completeCheckpoint).
        countCheckpoint(scope);
        const granted = sliceExpired() ? yieldToEventLoop().then(() => call) : Promise.resolve(call);
        return granted.then(this.#runWithToken as (call: TokenWait<T>) => T | Promise<T>);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // Waits in line like acquire(); the limiter wakes a TokenWait with itself (see wakeWaiters).
    call.abort = this.#aborter;
    return parkWait(call, this.waiters).then(this.#runWithToken as (call: TokenWait<T>) => T | Promise<T>);
  }

  /**
   * What ends `withToken`: releases the token of the calling code, then passes `fn`'s value or
   * error on. One pair per limiter, no closure per call. Precondition: they run as reactions
   * attached in the context of the `withToken` caller (runWithToken attaches them, itself a
   * reaction attached by withToken), so the current holder is the borrower; nothing that `fn`
   * runs synchronously can leave another trellis scope current (trellis enters scopes with
   * `run()` or in a microtask of their own). Exercised by test/sync/limited-spawn.test.ts's
   * randomized test (withToken, cancellations, failures).
   */
  readonly #releaseAfterValue = (value: unknown): unknown => {
    this.releaseFor(currentHolder(), "CapacityLimiter.withToken()");
    return value;
  };

  readonly #releaseAfterError = (err: unknown): never => {
    this.releaseFor(currentHolder(), "CapacityLimiter.withToken()");
    throw err;
  };

  /** `fn` runs holding the token, which goes back however it ends (one reaction per limiter). */
  readonly #runWithToken = (call: TokenWait<unknown>): unknown => {
    let result: unknown;
    try {
      result = call.fn();
    } catch (err) {
      this.releaseFor(call.data, "CapacityLimiter.withToken()");
      throw err;
    }
    if (result instanceof Promise) return result.then(this.#releaseAfterValue, this.#releaseAfterError);
    // A foreign thenable may call back in any context: adopted first, its reactions are ours.
    if (isThenable(result)) return Promise.resolve(result).then(this.#releaseAfterValue, this.#releaseAfterError);
    this.releaseFor(call.data, "CapacityLimiter.withToken()");
    return result;
  };

  /**
   * A fresh snapshot: `{ borrowedTokens, totalTokens, borrowers, tasksWaiting }`.
   *
   * @example
   * ```ts
   * import { CapacityLimiter } from "trellis";
   * const limiter = new CapacityLimiter(2);
   * console.log(limiter.statistics()); // { borrowedTokens: 0, totalTokens: 2, borrowers: [], tasksWaiting: 0 }
   * ```
   */
  statistics(): CapacityLimiterStatistics {
    const borrowers: unknown[] = [...this.borrowers];
    for (let i = 0; i < this.outside; i++) borrowers.push(OUTSIDE_ANY_TASK);
    return {
      borrowedTokens: this.borrowedTokens,
      totalTokens: this.total,
      borrowers,
      tasksWaiting: this.waitingCount(),
    };
  }

  static {
    // Shows `CapacityLimiter { borrowedTokens: 2, totalTokens: 2, tasksWaiting: 3 }` in `console.log`.
    defineInspect(CapacityLimiter, function (_depth, options, inspect) {
      const state = { borrowedTokens: this.borrowedTokens, totalTokens: this.total, tasksWaiting: this.waitingCount() };
      return formatState("CapacityLimiter", state, options, inspect);
    });
    // The engine a limited spawn drives, under a key core knows (not a member of the public type).
    Object.defineProperty(CapacityLimiter.prototype, TASK_LIMITER, {
      get(this: CapacityLimiter): TaskLimiter {
        return (this.#taskLimiter ??= this.makeTaskLimiter());
      },
    });
  }

  /** Waiters in line: acquires, and tasks spawned with this limiter that wait for a token. */
  private waitingCount(): number {
    const engine = this.#taskLimiter;
    return this.waiters.length + (engine === undefined ? 0 : queuedTaskAdjustment(engine));
  }

  private makeTaskLimiter(): TaskLimiter {
    return {
      line: this.waiters,
      queue: undefined,
      canAdmitNow: () => this.waiters.length === 0 && this.borrowedTokens < this.total,
      grant: (task) => this.grant(task),
      releaseTask: (task) => {
        if (!this.borrowers.has(task)) return;
        this.borrowers.delete(task);
        this.wakeWaiters();
      },
      describe: () => `CapacityLimiter (${this.borrowedTokens}/${this.total} in use)`,
    };
  }

  // ---- internals ---------------------------------------------------------------------------

  /**
   * Check, try, park (the skeleton every trellis wait follows). Not an async function: the
   * fast path returns the schedule point's promise (precondition of that shortcut: the cancel
   * check above has run, so cancel check + schedule point make the checkpoint, which
   * `completeCheckpoint` counts for `assertCheckpoints`), and the slow
   * path parks with the limiter itself as the abort handler, so a waiting task costs no
   * closure (precondition: `parked.data` is the borrower, which `abortWait` needs).
   */
  private acquireFor(borrower: unknown, where: string): Promise<void> {
    const scope = currentScope();
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    try {
      if (this.take(borrower, where)) return completeCheckpoint(scope);
    } catch (err) {
      return Promise.reject(err);
    }
    // The limiter's aborter is the wait's: a cancelled waiter also stops counting as pending.
    const waiting = this.waiters.park<void>("CapacityLimiter.acquire", borrower, scope, this.#aborter);
    if (queuedByAnother(borrower, scope?.task)) this.pending.add(borrower);
    return waiting;
  }

  /** Abort of a waiting acquire: leave the line and forget that the borrower waits (one per limiter, none per wait). */
  readonly #aborter: WaitAborter = {
    abortWait: (parked: AnyParked): boolean => {
      this.waiters.remove(parked);
      this.forgetPending(parked);
      return true;
    },
  };

  private tryFor(borrower: unknown, where: string): void {
    if (!this.take(borrower, where)) {
      if (this.total === 0) {
        throw new WouldBlock(`${where}: totalTokens is 0, so nobody is admitted until it is raised; use acquire() to wait for a token`);
      }
      const waiting = this.waitingCount();
      const why = waiting > 0 ? `${waiting} waiting before you` : "none is free";
      throw new WouldBlock(
        `${where}: all ${this.total} tokens are borrowed (${why}); use acquire() to wait for one`,
      );
    }
  }

  /** Grants a token to `borrower` if one is free and nobody is waiting; false if it must wait. */
  private take(borrower: unknown, where: string): boolean {
    if (borrower !== OUTSIDE_ANY_TASK && (this.borrowers.has(borrower) || this.isPending(borrower))) {
      const what = this.borrowers.has(borrower) ? "already holds" : "is already waiting for";
      throw new RuntimeError(
        `${where}: ${describeHolder(borrower)} ${what} a token of this CapacityLimiter, and a borrower may hold only one; release it first, or borrow on behalf of a distinct borrower`,
      );
    }
    if (this.waiters.length > 0 || this.borrowedTokens >= this.total) return false;
    this.grant(borrower);
    return true;
  }

  /**
   * True if `borrower` waits in line already. Speed shortcut: a task queued *for itself* is not
   * kept in `pending`, so a long line of tasks costs no set of them; it is looked for in the
   * line only when it has parked waits. Precondition: a task waits in line for itself only
   * through a wait of its own that is parked (`parks > 0`; a wait left floating stays parked
   * too), and a borrower queued by anyone else, task handles included, is always in `pending`.
   */
  private isPending(borrower: unknown): boolean {
    if (this.pending.has(borrower)) return true;
    if (!(borrower instanceof TaskImpl) || borrower.parks === 0) return false;
    for (const parked of this.waiters) if (parked.data === borrower) return true;
    return false;
  }

  /** Forgets that the borrower of `parked` waits (only borrowers queued by another are kept). */
  private forgetPending(parked: AnyParked): void {
    if (queuedByAnother(parked.data, parked.task)) this.pending.delete(parked.data);
  }

  private grant(borrower: unknown): void {
    if (borrower === OUTSIDE_ANY_TASK) this.outside++;
    else this.borrowers.add(borrower);
  }

  private releaseFor(borrower: unknown, where: string): void {
    const held = borrower === OUTSIDE_ANY_TASK ? this.outside > 0 : this.borrowers.has(borrower);
    if (!held) {
      throw new RuntimeError(
        `${where}: ${describeHolder(borrower)} holds no token of this CapacityLimiter; release only what was acquired, once (withToken() does it for you)`,
      );
    }
    if (borrower === OUTSIDE_ANY_TASK) this.outside--;
    else this.borrowers.delete(borrower);
    this.wakeWaiters();
  }

  /**
   * Hands free tokens to waiters, first come first served, before they resume. The token is
   * granted before the wake-up and never checked again: precondition, a woken wait is settled,
   * so a cancellation arriving before the waiter resumes finds nothing to withdraw and the
   * waiter keeps the token (park.ts). The loop condition is the only admission rule, so after
   * `totalTokens` was lowered below `borrowedTokens` nobody is admitted until releases bring
   * the count under the new total.
   */
  private wakeWaiters(): void {
    while (this.borrowedTokens < this.total) {
      const next = this.waiters.first();
      if (next === undefined) return;
      if (next instanceof TaskRun) {
        // Tasks spawned with this limiter (limited-spawn.ts): the next one is admitted.
        const task = admitFromRun(next);
        if (task !== undefined) this.grant(task);
        continue;
      }
      this.forgetPending(next);
      this.grant(next.data);
      // A withToken() wait goes on with itself (it carries its fn); an acquire() returns nothing.
      this.waiters.wakeFirst(next instanceof TokenWait ? next : undefined);
    }
  }
}

/** A `withToken` call: its wait in line (if it had to wait), carrying what runs once it is granted. */
class TokenWait<T> extends QueuedWait<TokenWait<T>> {
  constructor(
    scope: ScopeNode | undefined,
    readonly fn: () => T | PromiseLike<T>,
    borrower: unknown,
  ) {
    super(scope, "CapacityLimiter.withToken");
    this.data = borrower;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<unknown>).then === "function";
}

/**
 * True when `borrower` waits in line through a wait of another caller (`waiter`: the task
 * whose wait it is), and so must be remembered in `pending`. The anonymous borrower outside
 * any task may hold several tokens and is never pending.
 */
function queuedByAnother(borrower: unknown, waiter: TaskImpl<unknown> | undefined): boolean {
  return borrower !== OUTSIDE_ANY_TASK && borrower !== waiter;
}

function requireBorrower(where: string, borrower: unknown): unknown {
  if (borrower === undefined || borrower === null) {
    throw new TypeError(`${where}: \`borrower\` must be a value that identifies who holds the token (a task, an object, an id), got ${String(borrower)}`);
  }
  return borrower;
}
