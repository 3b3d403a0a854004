/**
 * Supervisors: task groups for long-running services, whose children fail on their own. A
 * child's failure is reported at once (by default on stderr, as Node prints an uncaught error)
 * and its siblings keep running; a restart policy may run it again. Only a spent restart budget,
 * a failure of the body, or a failing `onError` fails the supervisor, as a task group fails.
 *
 * A subclass of the core's TaskGroupImpl: its `recordFailure` hook (called for the body and for
 * every child that ends with an error) reports instead of cancelling.
 *
 * @module
 */
import { inspect } from "node:util";
import {
  annotateTaskChain,
  ClosedResourceError,
  currentTaskImpl,
  currentTime,
  isCancelled,
  requireFunction,
  requireOptionalString,
  requireOneOf,
  captureSpawnSite,
  requireOptions,
  openGroup,
  requireTaskFunction,
  requireTaskLimiter,
  RuntimeError,
  TaskGroupImpl,
  type Task,
  type TaskGroup,
  type TaskImpl,
} from "../core/index.js";
import { sleep } from "../time/index.js";
import { RestartBudget, restartPolicy, type RestartPolicy, type SupervisedSpawnOptions } from "./restart-policy.js";

/**
 * What a supervisor does after a child's failure; passed to `onError` as its third argument.
 *
 * @example
 * ```ts
 * import { withSupervisor, type FailureInfo } from "trellis";
 * const onError = (err: unknown, task: { name: string }, info: FailureInfo) => {
 *   if (info.action === "restart") log.warn(`${task.name} failed, restarting in ${info.delayMs} ms`, err);
 *   else log.error(`${task.name} failed (${info.action})`, err);
 * };
 * await withSupervisor(body, { onError });
 * ```
 */
export interface FailureInfo {
  /** The supervisor's name, if it has one. */
  readonly supervisor: string | undefined;
  /**
   * `"restart"`: the child runs again after `delayMs`. `"report"`: the child stays failed and
   * its siblings go on (`restart: "never"`, or the child was being cancelled). `"fail"`: the
   * child's restart budget is spent, so the supervisor fails with this error, as a task group would.
   */
  readonly action: "restart" | "report" | "fail";
  /** Ms until the restart (`action: "restart"`), otherwise 0. */
  readonly delayMs: number;
  /** How many times this child has been restarted, counting the restart announced here. */
  readonly restarts: number;
}

/**
 * Receives every failure of a supervised child, at once, including failures followed by a
 * restart. It runs synchronously inside the failing task; if it throws, the supervisor fails
 * with that error.
 *
 * @example
 * ```ts
 * import { withSupervisor, type SupervisorErrorHandler } from "trellis";
 * const toLogger: SupervisorErrorHandler = (err, task, info) => logger.error({ err, task: task.name, ...info });
 * await withSupervisor(body, { onError: toLogger });
 * ```
 */
export type SupervisorErrorHandler = (err: unknown, task: Task<unknown>, info: FailureInfo) => void;

/**
 * Options of {@link withSupervisor}.
 *
 * @example
 * ```ts
 * import { withSupervisor, type SupervisorOptions } from "trellis";
 * const options: SupervisorOptions = { name: "app", onError: (err, task) => logger.error(task.name, err) };
 * await withSupervisor(body, options);
 * ```
 */
export interface SupervisorOptions {
  /** Shown in reports, errors and the debug task tree. */
  readonly name?: string;
  /**
   * Called with every failure of a child. Default: print it to stderr as Node prints an
   * uncaught error (its `stack`, which trellis extends with the task chain and the place where
   * the supervised task was spawned), after one line naming the supervisor and the task.
   */
  readonly onError?: SupervisorErrorHandler;
  /** How errors that fail the supervisor are thrown; as for `withTaskGroup`. Default `"first"`. */
  readonly errors?: "first" | "aggregate";
}

/**
 * The handle `withSupervisor` passes to its body: a task group whose `spawn` takes a restart
 * policy and whose children's failures are reported instead of cancelling their siblings.
 * Children started with `sup.start` are supervised with `restart: "never"`.
 *
 * @example
 * ```ts
 * import { withSupervisor, type Supervisor } from "trellis";
 * function startBackgroundJobs(sup: Supervisor) {
 *   sup.spawn(() => flushMetrics(), { restart: "always", backoffMs: 1_000 });
 * }
 * await withSupervisor(async (sup) => { startBackgroundJobs(sup); await serve(); });
 * ```
 */
export interface Supervisor extends TaskGroup {
  /**
   * As `tg.spawn`, plus a restart policy (see {@link SupervisedSpawnOptions}). The returned
   * handle stands for the child across its restarts: its `state` stays `"running"` until the
   * child ends for good, and `cancel()` ends it without a restart.
   *
   * @throws {TypeError} If `fn` is not a function, `options.restart` is not a known mode, or
   *   `options.limiter` is not a CapacityLimiter (a limited child keeps its token across restarts).
   * @throws {RangeError} If `maxRestarts`, `restartWindowMs`, `backoffMs` or `maxBackoffMs` is out of range.
   * @throws {ClosedResourceError} If the supervisor has finished.
   */
  spawn<R>(fn: () => R | PromiseLike<R>, options?: SupervisedSpawnOptions): Task<Awaited<R>>;
}

/** @internal */
class SupervisorImpl extends TaskGroupImpl implements Supervisor {
  /** Children whose failure was reported and must not fail the supervisor, or must. */
  private readonly verdicts = new WeakMap<TaskImpl<unknown>, "reported" | "fatal">();

  constructor(
    name: string | undefined,
    errorMode: "first" | "aggregate",
    private readonly onError: SupervisorErrorHandler,
  ) {
    super(name, errorMode);
  }

  override spawn<R>(fn: () => R | PromiseLike<R>, options?: SupervisedSpawnOptions): Task<Awaited<R>> {
    requireTaskFunction("sup.spawn()", fn);
    requireOptions("sup.spawn()", options);
    const policy = restartPolicy("sup.spawn()", options);
    // A limited child holds its token for its whole life, across restarts (see SpawnOptions.limiter).
    requireTaskLimiter("sup.spawn()", options?.limiter); // a bad one is refused here, in sup.spawn()'s name
    const limiter = options?.limiter ?? undefined;
    if (this.closed) {
      const label = this.name === undefined ? "the supervisor" : `supervisor "${this.name}"`;
      throw new ClosedResourceError(
        `sup.spawn(): ${label} has finished, so it takes no new tasks; spawn into a supervisor that is still open`,
      );
    }
    const name = options?.name ?? (fn.name || "anonymous");
    const task = (
      policy.restart === "never" ? super.spawn(fn, { name, limiter }) : super.spawn(() => this.supervise(fn, policy), { name, limiter })
    ) as TaskImpl<Awaited<R>>;
    // A report must say where the task came from; supervised tasks are few and long-lived, so
    // they always pay for one stack trace (other tasks only in debug mode).
    task.spawnStack = captureSpawnSite(SupervisorImpl.prototype.spawn);
    return task;
  }

  /**
   * The hook of TaskGroupImpl: the body's failure (no task) fails the supervisor as a task
   * group's would; a child's failure was reported by `supervise`, or is reported here.
   */
  override recordFailure(err: unknown, task?: TaskImpl<unknown>): void {
    if (task === undefined) return super.recordFailure(err);
    const verdict = this.verdicts.get(task);
    if (verdict === "fatal") return super.recordFailure(err, task);
    if (verdict === undefined) this.report(err, task, { supervisor: this.name, action: "report", delayMs: 0, restarts: 0 });
  }

  /** Runs `fn` in the child's task again and again, as `policy` says. */
  private async supervise<R>(fn: () => R | PromiseLike<R>, policy: RestartPolicy): Promise<R> {
    const task = currentTaskImpl()!;
    const budget = new RestartBudget(policy);
    for (;;) {
      let value: R;
      try {
        value = await fn();
      } catch (err) {
        if (isCancelled(err)) throw err; // a cancelled child is never restarted nor reported
        annotateTaskChain(err, task);
        // A child that is being cancelled (alone, or with the supervisor) is not restarted.
        const delay = task.scope.cause !== null ? undefined : budget.next(currentTime());
        if (delay === undefined) {
          const action = task.scope.cause !== null ? "report" : "fail";
          this.verdicts.set(task, action === "fail" ? "fatal" : "reported");
          this.report(err, task, { supervisor: this.name, action, delayMs: 0, restarts: budget.total });
          throw err;
        }
        // The failed attempt is over: what it held per attempt (values in flight of an
        // acknowledged channel) is released now, not when the task ends for good.
        task.endAttempt();
        this.report(err, task, { supervisor: this.name, action: "restart", delayMs: delay, restarts: budget.total });
        await sleep(delay); // a checkpoint even when 0: cancellable, and no hot restart loop
        continue;
      }
      if (policy.restart !== "always" || task.scope.cause !== null) return value;
      // "always": a normal return restarts too, and counts toward the budget (OTP's permanent child).
      task.endAttempt();
      const delay = budget.next(currentTime());
      if (delay === undefined) {
        this.verdicts.set(task, "fatal");
        throw new RuntimeError(
          `sup.spawn(): task "${task.name}" has restart: "always" and returned ${policy.maxRestarts + 1} times within ${policy.restartWindowMs} ms, which spends its restart budget (maxRestarts: ${policy.maxRestarts}); a task that is meant to finish should use restart: "on-failure"`,
        );
      }
      await sleep(delay);
    }
  }

  private report(err: unknown, task: TaskImpl<unknown>, info: FailureInfo): void {
    try {
      this.onError(err, task, info);
    } catch (handlerError) {
      // A broken error handler must not hide failures: it fails the supervisor.
      super.recordFailure(handlerError);
    }
  }
}

/** Where trellis's own modules live: their frames say nothing about where a task was spawned. */
/**
 * The default `onError`: one line naming the supervisor, the task and what happens next, then
 * the error as Node prints an uncaught exception (`util.inspect`: stack, cause, own properties).
 */
function printFailure(err: unknown, task: Task<unknown>, info: FailureInfo): void {
  const where = info.supervisor === undefined ? "a supervisor" : `supervisor "${info.supervisor}"`;
  let next: string;
  if (info.action === "restart") {
    const when = info.delayMs > 0 ? ` in ${info.delayMs} ms` : "";
    next = `restarting it${when} (restart ${info.restarts})`;
  } else if (info.action === "fail") {
    next = `its restart budget is spent, so the supervisor fails`;
  } else {
    next = "the other tasks keep running";
  }
  process.stderr.write(`trellis: task "${task.name}" (#${task.id}) of ${where} failed; ${next}:\n${inspect(err)}\n\n`);
}

/**
 * Runs `body(sup)` in a new supervisor and returns once `body` and every child have finished.
 * Like {@link withTaskGroup}, except that a child's failure does not cancel its siblings: it is
 * reported at once through `options.onError` (by default printed to stderr with its stack and
 * the task chain), and the child is restarted if its policy says so. The supervisor itself
 * fails — cancelling every child, then throwing — only when `body` throws, when a child's
 * restart budget is spent, or when `onError` throws. A failure that was only reported does not
 * make `withSupervisor` throw. Cancelling the supervisor (`sup.cancel()`, or an outer scope)
 * cancels every child and restarts none; cancelled children are never reported.
 *
 * Entering never raises `Cancelled`; leaving is a schedule point, not a cancel point.
 *
 * @param body - Receives the {@link Supervisor}; usually spawns the services and returns, or
 *   runs the main loop of the program.
 * @param options - `{ name, onError, errors }`, see {@link SupervisorOptions}.
 * @returns `body`'s result, or `undefined` if the supervisor's own cancellation ended the body.
 * @throws {TypeError} If `body` or `options.onError` is not a function, or `options` not an object.
 * @throws The body's error, the error of a child whose restart budget is spent, or `onError`'s error.
 * @example
 * ```ts
 * import { withSupervisor, sleep } from "trellis";
 * await withSupervisor(async (sup) => {
 *   sup.spawn(() => refreshCache(), { restart: "on-failure", backoffMs: 1_000 });
 *   sup.spawn(() => sendMetrics()); // if it fails: printed at once, the rest keeps running
 *   await serveForever();
 * }, { name: "app" });
 * ```
 */
export function withSupervisor<T>(
  body: (sup: Supervisor) => T | PromiseLike<T>,
  options?: SupervisorOptions,
): Promise<T | undefined> {
  let sup: SupervisorImpl;
  try {
    requireFunction("withSupervisor()", "body", body);
    requireOptions("withSupervisor()", options);
    const name = requireOptionalString("withSupervisor()", "options.name", options?.name);
    const mode = requireOneOf("withSupervisor()", "options.errors", options?.errors ?? "first", ["first", "aggregate"] as const);
    const onError = options?.onError;
    if (onError != null) requireFunction("withSupervisor()", "options.onError", onError);
    sup = new SupervisorImpl(name, mode, onError ?? printFailure);
  } catch (err) {
    return Promise.reject(err);
  }
  // Like withTaskGroup: a supervisor nobody awaits still belongs to the task that opened it.
  return openGroup(sup, () => body(sup), withSupervisor);
}
