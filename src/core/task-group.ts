/**
 * Task groups (Trio's nurseries): every task belongs to one, and a group cannot finish before
 * its tasks. A failure cancels the group's scope, so siblings and the body see `Cancelled`;
 * the group waits for all of them, then throws the first error (or all of them).
 *
 * @module
 */
import { UserScope, type CancelScope } from "./cancel-scope.js";
import { currentScope } from "./context.js";
import { ClosedResourceError, firstWithSuppressed, markEscapedCancelled, RuntimeError, TaskGroupError } from "./errors.js";
import { park, wake, wakeWithError, type Parked, type WaitDescriber } from "./park.js";
import { schedulePoint } from "./checkpoint.js";
import { currentTaskImpl, TaskImpl, type OpenGroup, type Task, type TaskOwner } from "./task.js";
import { getDefaultRuntime, type Runtime } from "./runtime.js";
import { captureSpawnSite } from "./spawn-site.js";
import { requireFunction, requireOneOf, requireOptionalString, requireOptions, show } from "./validate.js";
import { requireTaskLimiter, spawnLimited, type SpawnLimiter } from "./limited-spawn.js";

/** Options of {@link withTaskGroup}. */
export interface TaskGroupOptions {
  /** Shown in errors and the debug task tree. */
  readonly name?: string;
  /**
   * `"first"` (default): rethrow the first error as the same object; later ones are kept in
   * `suppressedErrors(err)`. `"aggregate"`: always throw a `TaskGroupError` holding every error.
   */
  readonly errors?: "first" | "aggregate";
}

/** Options of `tg.spawn` and `tg.start`. */
export interface SpawnOptions {
  /** The task's name, for errors and the debug task tree. Default: the function's name. */
  readonly name?: string;
  /**
   * A `CapacityLimiter` whose token the task must hold to run (`tg.spawn` and `sup.spawn`
   * only; `tg.start` refuses it). The task belongs to the group from `spawn` on: the group
   * waits for it, `task.cancel()` and the group's cancellation end it, `result()` and `state`
   * work. But its body starts only once it is granted a token, in FIFO order with the
   * limiter's other waiters (`acquire()`, `withToken()`); a task cancelled while it waits ends
   * `cancelled` without running its body and never takes a token. The token is the task's for
   * its whole life (it shows in `limiter.statistics().borrowers`) and goes back when the task
   * ends, however it ends. The body runs with the spawner's AsyncLocalStorage values, as any
   * spawned task's. A task that finds a token free starts at once, in spawn order.
   *
   * Unlike `tg.spawn(() => limiter.withToken(fn))`, a task that waits has no context and no
   * body yet: a hundred thousand queued tasks cost little more than their handles.
   * Default: none (the task starts at once).
   *
   * @example
   * ```ts
   * import { CapacityLimiter, withTaskGroup } from "trellis";
   * const limiter = new CapacityLimiter(100);
   * await withTaskGroup(async (tg) => {
   *   for (const url of urls) tg.spawn(() => fetch(url), { name: url, limiter });
   * }); // at most 100 fetches at once; the others wait for a token without having started
   * ```
   */
  readonly limiter?: SpawnLimiter;
}

/** What `tg.start` passes to the task it starts. */
export interface TaskStatus<T = void> {
  /**
   * Tells `tg.start` that the task is ready: `start` returns `value`, and the task moves from
   * the caller's cancel scopes into the group. Call it once.
   *
   * @throws {RuntimeError} If called a second time, or after the task has returned.
   */
  started(value: T): void;
}

/**
 * The handle `withTaskGroup` passes to its body: spawn tasks into it, start services, cancel it.
 */
export interface TaskGroup {
  /** The group's name, if one was given. */
  readonly name: string | undefined;
  /** The group's own cancel scope: cancelling it cancels the body and every task of the group. */
  readonly cancelScope: CancelScope;
  /**
   * Schedules `fn()` as a child task and returns its handle at once; no code of `fn` runs
   * before `spawn` returns, and children start in spawn order. Never waits. With
   * `options.limiter`, the child starts only once it holds a token of the limiter (see
   * {@link SpawnOptions.limiter}).
   *
   * @throws {ClosedResourceError} If the group has finished.
   * @throws {TypeError} If `fn` is not a function (a promise, `tg.spawn(work())`, included: pass
   *   `() => work()`), or `options.limiter` is not a CapacityLimiter.
   */
  spawn<R>(fn: () => R | PromiseLike<R>, options?: SpawnOptions): Task<Awaited<R>>;
  /**
   * Runs `fn(status)` as a child task and returns the value it passes to `status.started()`.
   * Until then the child runs under the caller's cancel scopes; afterwards it belongs to the
   * group. If it fails or returns before calling `started`, `start` throws.
   *
   * @throws {TypeError} (as a rejection) If `options.limiter` is given: a task that reports
   *   readiness to its caller does not wait for a token; take one inside it (`limiter.withToken`).
   */
  start<T = void>(fn: (status: TaskStatus<T>) => unknown, options?: SpawnOptions): Promise<T>;
  /** Shorthand for `tg.cancelScope.cancel(reason)`. */
  cancel(reason?: unknown): void;
}

/** @internal */
export class TaskGroupImpl implements TaskGroup, OpenGroup, TaskOwner {
  readonly cancelScope: UserScope;
  /** The failures of the body and the children, in order (any value: `throw undefined` counts). */
  readonly errors: unknown[] = [];
  /** The promise of `withTaskGroup`/`withSupervisor`: what the opening task waits for if nobody awaits it. */
  promise: Promise<unknown> | undefined = undefined;
  /** Where the group was opened (debug mode), for the report of a group nobody awaits. */
  openedAt: string | undefined = undefined;
  /** Children that belong to the group and have not ended yet. */
  private live = 0;
  /** Set once the group has finished: it takes no new tasks. */
  closed = false;
  private waiter: Parked<void> | undefined = undefined;
  /** @internal The Cancelled of the first child ended by an outer or group cancellation. */
  cancelledChild: unknown = undefined;

  constructor(
    readonly name: string | undefined,
    readonly errorMode: "first" | "aggregate",
  ) {
    this.cancelScope = new UserScope(name === undefined ? undefined : { name });
  }

  spawn<R>(fn: () => R | PromiseLike<R>, options?: SpawnOptions): Task<Awaited<R>> {
    requireTaskFunction("spawn()", fn);
    const name = taskName("spawn()", fn, options);
    const limiter = options == null ? undefined : requireTaskLimiter("spawn()", options.limiter);
    this.requireOpen("spawn()");
    const task = new TaskImpl<Awaited<R>>(name, currentTaskImpl(), this);
    this.live++;
    if (limiter === undefined) task.start(fn as () => Awaited<R>, this.cancelScope);
    else spawnLimited(task as TaskImpl<unknown>, fn, this.cancelScope, limiter);
    return task;
  }

  async start<T = void>(fn: (status: TaskStatus<T>) => unknown, options?: SpawnOptions): Promise<T> {
    requireTaskFunction("start()", fn);
    const name = taskName("start()", fn, options);
    if (options?.limiter != null) {
      throw new TypeError(
        `start(): \`options.limiter\` is not supported by start(), whose caller waits for the task to report that it is ready; spawn it with tg.spawn(fn, { limiter }), or take a token inside it (limiter.withToken)`,
      );
    }
    this.requireOpen("start()");
    const callerScope = currentScope();
    return park<T>(startLabel, (parked) => {
      parked.data = name;
      const status = new StartStatus<T>(this, parked);
      // Until it calls started(), the task is owned by its start: an end before that is start()'s error.
      const spawner = currentTaskImpl();
      const owner: TaskOwner = {
        runtime: this.runtime,
        spawner,
        taskEnded: (t) => {
          status.exitedBeforeStarted(t);
          this.childGone();
        },
      };
      const task = new TaskImpl<unknown>(name, spawner, owner);
      status.task = task;
      // A pending start keeps the group open (Trio's nursery.start): the group cannot finish
      // and refuse the task between now and its started() call.
      this.live++;
      // The caller keeps waiting when cancelled: the child runs under the caller's scopes,
      // so it is cancelled too, and start() reports how it ended.
      parked.abort = () => false;
      task.start(() => fn(status), callerScope);
    });
  }

  cancel(reason?: unknown): void {
    this.cancelScope.cancel(reason);
  }

  /** @internal Moves a task that called `started()` into the group. */
  adopt(task: TaskImpl<unknown>): void {
    task.setOwner(this);
    task.scope.reparent(this.cancelScope);
  }

  /** @internal Records a failure of the body or a child; the first one cancels the group. */
  recordFailure(err: unknown, _task?: TaskImpl<unknown>): void {
    this.errors.push(err);
    if (this.errors.length === 1) {
      // Known to run(), which reports these errors if a second Ctrl-C ends the process first.
      this.cancelScope.runtime.failingGroups.add(this);
      this.cancelScope.cancelWith(err, "sibling");
    }
  }

  /**
   * @internal The run of the group's tasks, and the task whose body spawns into the group,
   * usually: the one that opened it (TaskOwner). Copies of its scope's, made once the scope is
   * entered (runGroup), before anything can spawn: plain fields, read once per task.
   */
  runtime: Runtime = getDefaultRuntime();
  spawner: TaskImpl<unknown> | undefined = undefined;

  /** @internal A child has ended (TaskOwner). */
  taskEnded(task: TaskImpl<unknown>): void {
    if (task.state === "failed") this.recordFailure(task.error, task);
    // A child ended by the cancellation of this group or of a scope around it (not by its own
    // task.cancel()): runGroup passes that Cancelled on to the scope that was cancelled.
    else if (task.state === "cancelled" && task.scope.cause !== null && task.scope.cause !== task.scope) this.cancelledChild ??= task.error;
    this.childGone();
  }

  /** @internal A child (or a pending start) has left the group; the last one wakes the waiting group. */
  childGone(): void {
    if (--this.live === 0 && this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      wake(waiter, undefined);
    }
  }

  /** @internal Waits until every child has ended; cancellation does not stop the wait. */
  async waitForChildren(): Promise<boolean> {
    let waited = false;
    // A loop: while the group waits, running children may still spawn more.
    while (this.live > 0) {
      waited = true;
      await park<void>(
        this.name === undefined ? "task group join" : `task group join (${JSON.stringify(this.name)})`,
        (parked) => {
          this.waiter = parked;
        },
        false,
      );
    }
    return waited;
  }

  /**
   * @internal The error the group ends with; call it only if `errors.length > 0` (a failure
   * may be any value, `undefined` included, so "has failed" is never read from the value).
   */
  outcomeError(): unknown {
    const errors = this.errors;
    const label = this.name === undefined ? "task group" : `task group "${this.name}"`;
    if (this.errorMode === "aggregate") {
      const noun = errors.length === 1 ? "error" : "errors";
      return new TaskGroupError(errors, `${label} failed with ${errors.length} ${noun}`);
    }
    return firstWithSuppressed(errors, label);
  }

  private requireOpen(where: string): void {
    if (!this.closed) return;
    const label = this.name === undefined ? "the task group" : `task group "${this.name}"`;
    throw new ClosedResourceError(
      `${where}: ${label} has finished, so it takes no new tasks; spawn into a group that is still open`,
    );
  }
}

/** `tg.start (waiting for "db" to call started())`, formatted only when asked. */
const startLabel: WaitDescriber = {
  describeWait: (parked) => `tg.start (waiting for ${JSON.stringify(parked.data)} to call started())`,
};

class StartStatus<T> implements TaskStatus<T> {
  task: TaskImpl<unknown> | undefined = undefined;
  private startedCalled = false;

  constructor(
    private readonly group: TaskGroupImpl,
    private readonly caller: Parked<T>,
  ) {}

  started(value: T): void {
    if (this.startedCalled) {
      throw new RuntimeError("TaskStatus.started(): called a second time; a started task can report that it is ready only once");
    }
    const task = this.task!;
    if (task.state !== "running") {
      throw new RuntimeError(
        `TaskStatus.started(): task "${task.name}" (#${task.id}) has already ${task.state === "done" ? "returned" : "ended"}, so it can no longer be started; call status.started(value) from the task's body, before it returns`,
      );
    }
    this.startedCalled = true;
    this.group.adopt(this.task!);
    wake(this.caller, value);
  }

  exitedBeforeStarted(task: TaskImpl<unknown>): void {
    if (task.state === "done") {
      const err = new RuntimeError(
        `start(): task "${task.name}" returned without calling status.started(); call started(value) once the task is ready, or use spawn() for tasks that report nothing`,
      );
      wakeWithError(this.caller, err);
    } else {
      wakeWithError(this.caller, task.error);
    }
  }
}

/** @internal A function, not the promise of one already running (`tg.spawn(work())`): say what to pass. */
export function requireTaskFunction(where: string, fn: unknown): void {
  if (typeof fn === "function") return;
  const hint =
    fn !== null && typeof fn === "object" && typeof (fn as PromiseLike<unknown>).then === "function"
      ? "; pass `() => work()`, not `work()`, so that the work starts inside the task that can cancel it"
      : "";
  throw new TypeError(`${where}: \`fn\` must be a function, got ${show(fn)}${hint}`);
}

function taskName(where: string, fn: Function, options: SpawnOptions | undefined): string {
  requireOptions(where, options);
  const name = requireOptionalString(where, "options.name", options?.name);
  return name ?? (fn.name || "anonymous");
}

/**
 * Runs `body(tg)` in a new task group, and returns only once `body` and every task spawned into
 * `tg` have finished. If any of them throws, the group is cancelled (the others see `Cancelled`
 * at their next checkpoint), all are awaited, then the first error is thrown as the same object.
 * Entering never raises `Cancelled`; leaving is a schedule point, not a cancel point.
 *
 * A group nobody awaits still belongs to the task that opened it: the task finishes only after
 * the group, and takes over its error.
 *
 * @returns `body`'s result, or `undefined` if the group's own cancellation ended the body.
 * @throws The first error of the body or a task (`errors: "first"`: any value, `undefined`
 * included), or a `TaskGroupError` (`errors: "aggregate"`, or a primitive first error followed
 * by others).
 * @example
 * ```ts
 * import { withTaskGroup } from "trellis";
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(() => serveHttp());
 *   tg.spawn(() => refreshCache());
 * }); // returns when both have finished; if one fails, the other is cancelled
 * ```
 */
export function withTaskGroup<T>(
  body: (tg: TaskGroup) => T | PromiseLike<T>,
  options?: TaskGroupOptions,
): Promise<T | undefined> {
  let group: TaskGroupImpl;
  try {
    requireFunction("withTaskGroup()", "body", body);
    requireOptions("withTaskGroup()", options);
    const name = requireOptionalString("withTaskGroup()", "options.name", options?.name);
    const mode = requireOneOf("withTaskGroup()", "options.errors", options?.errors ?? "first", ["first", "aggregate"] as const);
    group = new TaskGroupImpl(name, mode);
  } catch (err) {
    return Promise.reject(err);
  }
  // Not an async function: the promise returned is the one the opening task watches (see openGroup).
  return openGroup(group, body, withTaskGroup);
}

/**
 * @internal Runs `body` as the group's body in the group's scope, and gives the group to the
 * task that opens it: if the task's body ends while the group runs (its promise was not
 * awaited), the task waits for the group and takes over its error (see task.ts). Shared with
 * supervisors.
 */
export function openGroup<G extends TaskGroupImpl, T>(group: G, body: (tg: G) => T | PromiseLike<T>, opener: Function): Promise<T | undefined> {
  const promise = group.cancelScope.run(() => runGroup(group, body));
  const task = group.cancelScope.task; // entered synchronously by run()
  if (task !== undefined && group.cancelScope.phase === "running") {
    group.promise = promise;
    if (task.runtime.debug) group.openedAt = captureSpawnSite(opener, 3, "opened");
    task.addOpenGroup(group);
  }
  return promise;
}

/** @internal The body of a group, run inside its cancel scope; shared with supervisors. */
export async function runGroup<G extends TaskGroupImpl, T>(group: G, body: (tg: G) => T | PromiseLike<T>): Promise<T> {
  group.runtime = group.cancelScope.runtime;
  group.spawner = group.cancelScope.task;
  let result: T | undefined;
  let bodyCancelled = false;
  let cancelledError: unknown;
  try {
    result = await body(group);
  } catch (err) {
    // A Cancelled counts as cancellation only if it comes from the group's scope or one around
    // it (one of another task's, passed on by `await t.result()`, is a failure like any other).
    if (group.cancelScope.ownsCancelled(err)) {
      bodyCancelled = true;
      cancelledError = err;
    } else {
      markEscapedCancelled(err);
      group.recordFailure(err);
    }
  }
  const waited = await group.waitForChildren();
  group.closed = true;
  const task = group.cancelScope.task;
  if (group.promise !== undefined) task?.removeOpenGroup(group);
  group.cancelScope.runtime.failingGroups.delete(group);
  if (!waited) await schedulePoint();
  if (group.errors.length > 0) throw group.outcomeError();
  if (bodyCancelled) throw cancelledError;
  // As in Trio, a child's Cancelled reaches the scope that was cancelled: the group's own scope
  // absorbs it (the body's result stands); a cancelled outer scope gets it, so that it records
  // cancelledCaught and failAfter() sees its timeout even when only the children were cut short.
  const cancelledChild = group.cancelledChild;
  if (cancelledChild !== undefined && !group.cancelScope.absorbs(cancelledChild)) throw cancelledChild;
  return result as T;
}
