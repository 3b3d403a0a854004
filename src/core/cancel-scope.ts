/**
 * Cancel scopes: where cancellation originates (`cancel()`, a deadline, a shield) and the tree
 * through which it travels (Trio splits these into CancelScope and CancelStatus; a scope here
 * is both, because in JavaScript the innermost scope *is* the ambient context).
 *
 * Every running scope has a parent: the scope that was current where it was entered. A task's
 * code runs under the task's own root scope, whose parent is its group's scope. `cause` is the
 * outermost cancelled scope whose cancellation reaches this one (`null`: not cancelled); it is
 * recomputed downward whenever a cancel, a shield or a parent changes, and each newly
 * cancelled scope withdraws the waits parked in it. A checkpoint only reads `cause`.
 *
 * @module
 */
import { Cancelled, isEscapedCancelled, makeCancelled, RuntimeError, type CancelSource } from "./errors.js";
import { currentScope, scopeStorage } from "./context.js";
import { deliverCancel, type AnyParked } from "./park.js";
import { countCheckpoint } from "./checkpoint.js";
import { CANCEL_CALLED, EXITED, IS_TASK, PHASE_MASK, RUNNING, SHIELDED, withBit } from "./flags.js";
import { getDefaultRuntime, type Runtime } from "./runtime.js";
import { sliceExpired, yieldToEventLoop } from "./scheduler.js";
import type { TimerEntry } from "./timer-queue.js";
import type { TaskImpl } from "./task.js";
import { requireBoolean, requireDeadline, requireFunction, requireOptionalString, requireOptions } from "./validate.js";

/** Options of {@link CancelScope}. */
export interface CancelScopeOptions {
  /** Absolute time on the run's clock (see `currentTime()`); `Infinity` (default) means none. */
  readonly deadline?: number;
  /** While true, cancellation of outer scopes does not reach code inside. Default false. */
  readonly shield?: boolean;
  /** Shown in `Cancelled` messages and the debug task tree. */
  readonly name?: string;
}

type ScopeState = "new" | "running" | "exited";

/**
 * @internal The engine of a cancel scope: a node of the cancellation tree. A task's root scope is
 * one (a task *is* its root node, one object per task), and so is every user's `CancelScope`,
 * whose runtime class {@link UserScope} adds what only a user's scope may do (`run`, setting
 * `shield` and `deadline`). The public type {@link CancelScope} shows none of the members below.
 */
export abstract class ScopeNode {
  /**
   * @internal The scope's small state in one int: its phase, whether it is shielded, whether
   * `cancel()` was called; a task keeps its state and park count in the higher bits. See flags.ts.
   */
  flags = 0;
  /** The name given in the options, shown in `Cancelled` messages. */
  readonly name: string | undefined;
  /**
   * Cold state (deadline, reason…), made on first use: most scopes are tasks' roots and need
   * none. A task's is a `TaskDetails` (task.ts), which adds the task's own cold state.
   */
  protected abstract readonly details: ScopeDetails | undefined;

  /** @internal The outermost cancelled scope whose cancellation reaches code in this one, or null. */
  cause: ScopeNode | null = null;
  /** @internal The enclosing scope (for a task's root scope: its group's scope). */ outer: ScopeNode | undefined = undefined;
  /** @internal The task whose code runs in this scope (a task's root scope is the task itself). */
  abstract readonly task: TaskImpl<unknown> | undefined;
  /** @internal The run this scope belongs to (a task reads its owner's: see task.ts). */
  abstract readonly runtime: Runtime;
  /**
   * @internal What is in this scope: the scopes entered in it and the waits parked in it, in one
   * list (one field instead of two, in every task). Cancellation walks it; so does the task tree.
   */
  firstMember: ScopeMember | undefined = undefined;
  /** @internal Links in the list of the enclosing scope (`outer`). */
  prevInScope: ScopeMember | undefined = undefined;
  nextInScope: ScopeMember | undefined = undefined;

  /** @internal Where the scope is in its life (named so that it does not clash with a task's `state`). */
  get phase(): ScopeState {
    return PHASES[this.flags & PHASE_MASK]!;
  }

  /** @internal True once `cancel()` was called or the deadline passed (the flag alone: see {@link cancelCalled}). */
  get _cancelCalled(): boolean {
    return (this.flags & CANCEL_CALLED) !== 0;
  }

  /** Sets the phase bits (an addition, not `|`: see flags.ts). */
  private setPhase(phase: number): void {
    this.flags = this.flags - (this.flags & PHASE_MASK) + phase;
  }

  /** @internal True if `err` is a `Cancelled` that this scope's own cancellation caused; records it. */
  absorbs(err: unknown): boolean {
    if (!(err instanceof Cancelled) || this.cause !== this || isEscapedCancelled(err)) return false;
    this.more.cancelledCaught = true;
    if (this.runtime.debug) this.task?.cancelledAbsorbed();
    return true;
  }

  /**
   * @internal True if the code around this scope was already cancelled when this scope's own
   * cancellation came (only a shield can hold that off). `failAfter` then still owes its
   * `TimeoutError`: the outer cancellation was there before the timeout, it did not arrive
   * at the same time (Trio's test_fail_after_fails_even_if_shielded).
   */
  get cancelledUnderCancelledOuter(): boolean {
    return this.details?.outerWasCancelled ?? false;
  }

  /**
   * Cancels everything inside the scope, including tasks of groups opened inside it. Idempotent;
   * the first reason wins. Callable before `run`, from any task, or outside any task. Never waits.
   */
  cancel(reason?: unknown): void {
    this.cancelWith(reason, "explicit");
  }

  /** @internal */
  cancelWith(reason: unknown, source: CancelSource): void {
    if (this._cancelCalled) return;
    this.flags += CANCEL_CALLED;
    const details = this.more;
    details.reason = reason;
    details.source = source;
    details.outerWasCancelled = this.phase === "running" && this.outer !== undefined && this.outer.cause !== null;
    this.removeDeadlineEntry();
    if (this.phase === "running") recalculate(this);
  }


  protected get more(): ScopeDetails {
    return this.details ?? this.makeDetails();
  }

  /** @internal Makes and keeps the cold state of this kind of scope (a task's adds its own). */
  protected abstract makeDetails(): ScopeDetails;

  /** Absolute deadline on the run's clock; `Infinity` for none. Moving it takes effect at once. */
  get deadline(): number {
    return this.details?.deadline ?? Infinity;
  }

  /** @internal Moves the deadline (a user's scope: `scope.deadline = …`; a request task's timeout). */
  setDeadline(value: number): void {
    this.more.deadline = requireDeadline("CancelScope.deadline", "deadline", value);
    if (this.phase === "running") this.applyDeadline();
  }

  /** While true, cancellation of outer scopes does not reach code inside this scope. */
  get shield(): boolean {
    return (this.flags & SHIELDED) !== 0;
  }

  /** @internal Shields or unshields the scope (only a user's scope can: see UserScope). */
  setShield(value: boolean): void {
    this.flags = withBit(this.flags, SHIELDED, requireBoolean("CancelScope.shield", "shield", value));
    if (this.phase === "running") recalculate(this);
  }

  /**
   * True once `cancel()` was called or the deadline passed, also for a scope not yet entered
   * (Trio's `cancel_called`: reading it notices a deadline that has passed before its timer
   * fired, and cancels the scope then). Once true it stays true.
   */
  get cancelCalled(): boolean {
    // Without details there is no deadline to notice: the bit alone says it (every task's root).
    if ((this.flags & CANCEL_CALLED) !== 0 || this.details === undefined) return (this.flags & CANCEL_CALLED) !== 0;
    if (this.phase !== "exited" && this.deadline !== Infinity) {
      if (this.phase === "running") {
        // As applyDeadline: expired deadlines fire in deadline order, this one among them.
        if (this.deadline <= this.runtime.now()) this.runtime.fireExpired();
      } else if (this.deadline <= (currentScope()?.runtime ?? this.runtime).now()) {
        // Not entered yet, so no run of its own: the deadline is a time of the reader's clock.
        this.cancelWith("deadline exceeded", "deadline");
      }
    }
    return this._cancelCalled;
  }

  /** True once this scope absorbed a `Cancelled` (its own cancellation ended `fn`). */
  get cancelledCaught(): boolean {
    return this.details?.cancelledCaught ?? false;
  }

  /** The reason given to the first `cancel()`, if any. */
  get reason(): unknown {
    return this.details?.reason;
  }

  /**
   * An `AbortSignal` aborted when code inside the scope becomes cancelled (shields respected),
   * for APIs that take one (`fetch`, `fs`, `timers/promises`). Made on first use.
   */
  get signal(): AbortSignal {
    const details = this.more;
    if (details.controller === undefined) {
      details.controller = new AbortController();
      if (this.phase === "running" && this.cause !== null) details.controller.abort(this.cancelledError(false));
    }
    return details.controller.signal;
  }

  /**
   * @internal The `Cancelled` that a checkpoint in this (cancelled) scope raises now, with its
   * stack; counted in debug mode, to report a task that swallows them in a loop.
   */
  raiseCancelled(): Cancelled {
    const err = this.cancelledError(true);
    if (this.runtime.debug) this.task?.noteCancelledRaised(err);
    return err;
  }

  /**
   * @internal What an async checkpoint returns in this cancelled scope. It goes through the
   * same fair scheduling as every other checkpoint: once the slice of microtask work has run
   * its time, it rejects only after the event loop had a turn. A loop that catches and ignores
   * `Cancelled` is a bug, but must not starve timers, I/O and signals (a second Ctrl-C).
   */
  rejectCancelled(): Promise<never> {
    const err = this.raiseCancelled();
    if (!sliceExpired()) return Promise.reject(err);
    return yieldToEventLoop().then(() => {
      throw err;
    });
  }

  /**
   * @internal The `Cancelled` that a checkpoint in this scope raises (`withStack`: raised at a
   * checkpoint of the current code, which is counted as one; see countCheckpoint).
   */
  cancelledError(withStack: boolean): Cancelled {
    if (withStack) countCheckpoint(this);
    const origin = this.cause ?? this;
    const details = origin.details;
    if (withStack || details === undefined) {
      const err = makeCancelled(details?.reason, details?.source ?? "explicit", origin.name, withStack);
      cancelledOrigin.set(err, origin);
      return err;
    }
    // Withdrawn waits share one stackless error per cancellation: cancelling a hundred thousand
    // sleeping tasks should not build a hundred thousand identical errors.
    if (details.bulkError === undefined) {
      details.bulkError = makeCancelled(details.reason, details.source, origin.name, false);
      cancelledOrigin.set(details.bulkError, origin);
    }
    return details.bulkError;
  }

  /**
   * @internal True if `err` is a `Cancelled` that belongs here: code in this scope is cancelled
   * now, or `err` came from this scope or one around it (whose cancellation a shield raised
   * since may hide). A `Cancelled` of another task's scopes (passed on by `await t.result()`)
   * does not belong, and is a failure where it escapes.
   */
  ownsCancelled(err: unknown): boolean {
    if (!(err instanceof Cancelled)) return false;
    if (this.cause !== null) return true;
    const origin = cancelledOrigin.get(err);
    for (let scope: ScopeNode | undefined = this; scope !== undefined; scope = scope.outer) if (scope === origin) return true;
    return false;
  }

  /** Live state for console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const parts: string[] = [this.phase];
    if (this.name !== undefined) parts.unshift(JSON.stringify(this.name));
    if (this.deadline !== Infinity) parts.push(`deadline=${this.deadline.toFixed(1)}`);
    if (this.shield) parts.push("shielded");
    if (this._cancelCalled) parts.push(`cancel called (${this.details?.source ?? "explicit"})`);
    else if (this.cause !== null) parts.push("cancelled from outside");
    if (this.cancelledCaught) parts.push("cancelled caught");
    return `CancelScope <${parts.join(", ")}>`;
  }

  // ---- tree ------------------------------------------------------------------------------

  /**
   * @internal Links the scope under `parent` and starts its deadline; `task` is the task whose
   * code runs in it (a user's scope records it; a task's root scope is the task itself).
   */
  enter(parent: ScopeNode | undefined, _task?: TaskImpl<unknown>): void {
    this.setPhase(RUNNING);
    if (parent !== undefined) this.linkUnder(parent);
    this.cause = computeCause(this);
    if (this.cause !== null) this.details?.controller?.abort(this.cancelledError(false));
    // No details, no deadline: most scopes (every task's root) skip the deadline code.
    if (!this._cancelCalled && this.details !== undefined) this.applyDeadline();
  }

  /** @internal Unlinks the scope; nothing of it stays in the tree or the timer queue. */
  exit(): void {
    // A wait still parked here was started and not awaited (a floating `sleep()`); it stays
    // linked so that waking it still works, but it no longer hears about cancellation.
    this.setPhase(EXITED);
    this.removeDeadlineEntry();
    this.unlink();
  }

  /** @internal Moves a running scope under a new parent (a task started with `tg.start`). */
  reparent(parent: ScopeNode): void {
    this.unlink();
    this.linkUnder(parent);
    recalculate(this);
  }

  private linkUnder(parent: ScopeNode): void {
    this.outer = parent;
    parent.addMember(this);
  }

  private unlink(): void {
    const parent = this.outer;
    if (parent === undefined) return;
    parent.removeMember(this);
    this.outer = undefined;
  }

  /** @internal Links a wait parked in this scope. */
  addParked(parked: AnyParked): void {
    this.addMember(parked);
  }

  /** @internal Unlinks a wait of this scope (nothing if it is not linked). */
  removeParked(parked: AnyParked): void {
    this.removeMember(parked);
  }

  private addMember(member: ScopeMember): void {
    const first = this.firstMember;
    member.nextInScope = first;
    if (first !== undefined) first.prevInScope = member;
    this.firstMember = member;
  }

  private removeMember(member: ScopeMember): void {
    const { prevInScope: prev, nextInScope: next } = member;
    if (prev !== undefined) prev.nextInScope = next;
    else if (this.firstMember === member) this.firstMember = next;
    if (next !== undefined) next.prevInScope = prev;
    member.prevInScope = member.nextInScope = undefined;
  }

  /**
   * @internal The scope has just become cancelled: withdraws every wait parked in it, then
   * aborts its signal; pushes its child scopes on `stack` (one walk of the list for both).
   */
  deliver(stack: ScopeNode[]): void {
    let member = this.firstMember;
    while (member !== undefined) {
      const next = member.nextInScope;
      if (member instanceof ScopeNode) stack.push(member);
      else deliverCancel(member, this);
      member = next;
    }
    const controller = this.details?.controller;
    if (controller !== undefined && !controller.signal.aborted) controller.abort(this.cancelledError(false));
  }

  // ---- deadline --------------------------------------------------------------------------

  private applyDeadline(): void {
    if (this._cancelCalled) return;
    const deadline = this.deadline;
    if (deadline === Infinity) return this.removeDeadlineEntry();
    if (deadline <= this.runtime.now()) {
      // Expired deadlines of enclosing scopes may not have fired yet (their timer is a
      // macrotask): fire them first, in deadline order, so that an outer scope whose deadline
      // passed at the same time is the one that absorbs the cancellation, as it would be had
      // its timer run first.
      this.runtime.fireExpired();
      return this.cancelWith("deadline exceeded", "deadline");
    }
    const details = this.more;
    const entry = details.deadlineEntry;
    if (entry === undefined) {
      const scope = this;
      details.deadlineEntry = {
        deadline,
        keepAlive: true,
        nextTimer: undefined,
        prevTimer: undefined,
        fire() {
          details.deadlineEntry = undefined;
          scope.cancelWith("deadline exceeded", "deadline");
        },
      };
      this.runtime.addTimer(details.deadlineEntry);
    } else {
      entry.deadline = deadline;
      this.runtime.moveTimer(entry);
    }
  }

  private removeDeadlineEntry(): void {
    const details = this.details;
    if (details?.deadlineEntry === undefined) return;
    this.runtime.removeTimer(details.deadlineEntry);
    details.deadlineEntry = undefined;
  }
}

const PHASES: readonly ScopeState[] = ["new", "running", "exited"];

/**
 * @internal The task whose code runs in `scope`, for the hot paths (park, wake, checkpoint): a
 * bit test and a field read, where `scope.task` would be a field on a user's scope and a getter
 * on a task, seen by the same call site.
 */
export function taskOf(scope: ScopeNode): TaskImpl<unknown> | undefined {
  return (scope.flags & IS_TASK) !== 0 ? (scope as unknown as TaskImpl<unknown>) : (scope as UserScope).task;
}

/** @internal What a scope's list holds: the scopes entered in it and the waits parked in it. */
export type ScopeMember = ScopeNode | AnyParked;

/** The scope whose cancellation each `Cancelled` reports (see `ownsCancelled`). */
const cancelledOrigin = new WeakMap<Cancelled, ScopeNode>();

/** @internal The state of a scope that most scopes never need. */
export class ScopeDetails {
  deadline = Infinity;
  cancelledCaught = false;
  outerWasCancelled = false;
  reason: unknown = undefined;
  source: CancelSource = "explicit";
  deadlineEntry: TimerEntry | undefined = undefined;
  controller: AbortController | undefined = undefined;
  bulkError: Cancelled | undefined = undefined;
}

function computeCause(scope: ScopeNode): ScopeNode | null {
  const parent = scope.outer;
  if ((scope.flags & SHIELDED) === 0 && parent !== undefined && parent.cause !== null) return parent.cause;
  return scope.cancelCalled ? scope : null;
}

/**
 * Recomputes `cause` from `root` downward (an explicit stack: trees can be deep), stopping at
 * subtrees whose cause did not change; every scope that becomes cancelled withdraws its waits.
 */
function recalculate(root: ScopeNode): void {
  const stack: ScopeNode[] = [root];
  for (let scope = stack.pop(); scope !== undefined; scope = stack.pop()) {
    const cause = computeCause(scope);
    if (cause === scope.cause && scope !== root) continue;
    const wasCancelled = scope.cause !== null;
    scope.cause = cause;
    if (cause !== null && !wasCancelled) scope.deliver(stack);
    else for (let m = scope.firstMember; m !== undefined; m = m.nextInScope) if (m instanceof ScopeNode) stack.push(m);
  }
}

/**
 * A region of code that can be cancelled as a unit, by `cancel()`, by a deadline, or by an outer
 * scope (unless shielded). Cancellation is level-triggered: while the scope is cancelled,
 * every checkpoint inside raises `Cancelled`, and the scope absorbs that `Cancelled` when it
 * propagates out of `run`. Entering never raises `Cancelled`; the first checkpoint inside does.
 *
 * @example
 * ```ts
 * import { CancelScope, currentTime, sleep } from "trellis";
 * const scope = new CancelScope({ deadline: currentTime() + 1_000 });
 * await scope.run(async () => { await sleep(5_000); });
 * console.log(scope.cancelledCaught); // true: the deadline ended the sleep
 * ```
 */
export interface CancelScope {
  /** The name given in the options, shown in `Cancelled` messages. */
  readonly name: string | undefined;
  /**
   * Runs `fn(scope)` inside this scope. Not a checkpoint: entering never raises `Cancelled`.
   *
   * @returns `fn`'s result, or `undefined` if this scope's own cancellation ended it.
   * @throws {RuntimeError} If the scope has been run before: a scope is used once.
   * @throws Whatever `fn` throws, including `Cancelled` of an outer scope.
   */
  run<T>(fn: (scope: CancelScope) => T | PromiseLike<T>): Promise<T | undefined>;
  /**
   * Cancels everything inside the scope, including tasks of groups opened inside it. Idempotent;
   * the first reason wins. Callable before `run`, from any task, or outside any task. Never waits.
   */
  cancel(reason?: unknown): void;
  /** Absolute deadline on the run's clock; `Infinity` for none. Moving it takes effect at once. */
  deadline: number;
  /** While true, cancellation of outer scopes does not reach code inside this scope. */
  shield: boolean;
  /**
   * True once `cancel()` was called or the deadline passed, also for a scope not yet entered
   * (Trio's `cancel_called`). Once true it stays true.
   */
  readonly cancelCalled: boolean;
  /** True once this scope absorbed a `Cancelled` (its own cancellation ended `fn`). */
  readonly cancelledCaught: boolean;
  /** The reason given to the first `cancel()`, if any. */
  readonly reason: unknown;
  /**
   * An `AbortSignal` aborted when code inside the scope becomes cancelled (shields respected),
   * for APIs that take one (`fetch`, `fs`, `timers/promises`). Made on first use.
   */
  readonly signal: AbortSignal;
}

/** The constructor of {@link CancelScope}: `new CancelScope(options?)`. */
export interface CancelScopeConstructor {
  new (options?: CancelScopeOptions): CancelScope;
  readonly prototype: CancelScope;
}

/**
 * @internal The runtime class of a user's {@link CancelScope}: the engine node plus what only a
 * user's scope may do. A task's root node is not one, so a task cannot be shielded, moved or run
 * from the outside.
 */
export class UserScope extends ScopeNode {
  declare readonly name: string | undefined;
  /** @internal The task whose code runs in this scope: the one that entered it. */
  task: TaskImpl<unknown> | undefined = undefined;
  /** @internal */
  protected details: ScopeDetails | undefined = undefined;

  constructor(options?: CancelScopeOptions) {
    super();
    if (options == null) return;
    requireOptions("new CancelScope()", options);
    if (options.deadline != null) this.more.deadline = requireDeadline("new CancelScope()", "deadline", options.deadline);
    if (options.shield != null) this.flags = withBit(this.flags, SHIELDED, requireBoolean("new CancelScope()", "shield", options.shield));
    const name = requireOptionalString("new CancelScope()", "name", options.name);
    this.name = name;
  }

  protected makeDetails(): ScopeDetails {
    return (this.details = new ScopeDetails());
  }

  /** @internal The run of the code that entered it (outside every scope: the default one). */
  runtime: Runtime = getDefaultRuntime();

  /** @internal */
  override enter(parent: ScopeNode | undefined, task: TaskImpl<unknown> | undefined = parent?.task): void {
    this.task = task;
    if (parent !== undefined) this.runtime = parent.runtime;
    super.enter(parent);
  }

  /**
   * Runs `fn(scope)` inside this scope. Not a checkpoint: entering never raises `Cancelled`.
   *
   * @returns `fn`'s result, or `undefined` if this scope's own cancellation ended it.
   * @throws {RuntimeError} If the scope has been run before: a scope is used once.
   * @throws Whatever `fn` throws, including `Cancelled` of an outer scope.
   */
  async run<T>(fn: (scope: CancelScope) => T | PromiseLike<T>): Promise<T | undefined> {
    requireFunction("CancelScope.run()", "fn", fn);
    if (this.phase !== "new") {
      throw new RuntimeError(
        "CancelScope.run(): this scope has already been run, and a scope can be run only once; create a new CancelScope for each run",
      );
    }
    this.enter(currentScope());
    try {
      return await scopeStorage.run(this, fn, this);
    } catch (err) {
      if (this.absorbs(err)) return undefined;
      throw err;
    } finally {
      this.exit();
    }
  }

  override get deadline(): number {
    return super.deadline;
  }

  override set deadline(value: number) {
    this.setDeadline(value);
  }

  override get shield(): boolean {
    return super.shield;
  }

  override set shield(value: boolean) {
    this.setShield(value);
  }
}

// The public CancelScope is UserScope seen through the CancelScope interface: no wrapper object,
// so a scope costs what it did, and `instanceof CancelScope` holds for every user's scope.
export const CancelScope: CancelScopeConstructor = UserScope;

/**
 * Shorthand for `new CancelScope(options).run(fn)`.
 *
 * @example
 * ```ts
 * import { withCancelScope } from "trellis";
 * await withCancelScope(async (scope) => { onShutdown(() => scope.cancel("shutdown")); await serve(); });
 * ```
 */
export function withCancelScope<T>(
  fn: (scope: CancelScope) => T | PromiseLike<T>,
  options?: CancelScopeOptions,
): Promise<T | undefined> {
  let scope: UserScope;
  try {
    scope = new UserScope(options);
  } catch (err) {
    return Promise.reject(err); // a promise-returning API rejects, never throws
  }
  return scope.run(fn);
}
