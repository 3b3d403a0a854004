/**
 * Tasks: one async function running under its own root cancel scope, owned by a task group
 * (or by `run()`, for the root task). Its outcome always reaches its owner; `result()` is a
 * convenience on top, never the only way an error surfaces.
 *
 * @module
 */
import { CancelScope } from "./cancel-scope.js";
import { scopeStorage, currentScope, contextFramesAreImmutable } from "./context.js";
import { Cancelled, isCancelled } from "./errors.js";
import { park, wake, type Parked } from "./park.js";
import { checkpoint } from "./checkpoint.js";
import type { TaskInfo } from "./task-info.js";
import { captureSpawnSite } from "./spawn-site.js";
import { RingBuffer } from "./ring-buffer.js";

/** The state of a task: running (or about to start), or how it ended. */
export type TaskState = "running" | "done" | "failed" | "cancelled";

/**
 * A handle on a task spawned into a group. The group owns the task: its failure reaches the
 * group whether or not anyone calls `result()`.
 *
 * @example
 * ```ts
 * import { withTaskGroup } from "trellis";
 * await withTaskGroup(async (tg) => {
 *   const user = tg.spawn(() => fetchUser(id), { name: "fetch user" });
 *   console.log(await user.result());
 * });
 * ```
 */
export interface Task<R> extends TaskInfo {
  readonly id: number;
  readonly name: string;
  readonly state: TaskState;
  /**
   * Waits for the task (a checkpoint) and returns its value, throws its error, or throws
   * `Cancelled` if it was cancelled.
   */
  result(): Promise<R>;
  /** Cancels this task alone (its own root scope). Idempotent; never waits. */
  cancel(reason?: unknown): void;
}

/** Receives the outcome of a task when it ends: its group, or `tg.start`'s caller. */
export type TaskOwner = (task: TaskImpl<unknown>) => void;

let nextTaskId = 1;

/**
 * @internal A task *is* its root cancel scope: one object per task instead of two (a hundred
 * thousand tasks are a hundred thousand fewer objects for the garbage collector). Its `outer`
 * scope is its group's; `task.cancel()` cancels this task alone.
 */
export class TaskImpl<R> extends CancelScope implements Task<R> {
  readonly id = nextTaskId++;
  declare readonly name: string;
  state: TaskState = "running";
  /** How many waits of this task are parked (0: running or runnable). */
  parks = 0;
  /** The value or the error the task ended with. */
  private outcome: unknown = undefined;
  /** The function to run, until it starts. */
  body: (() => R | PromiseLike<R>) | undefined = undefined;
  /** Rarely used state, made on first use: a task nobody watches pays one field. */
  private taskDetails: TaskDetails | undefined = undefined;

  constructor(
    name: string,
    readonly parent: TaskImpl<unknown> | undefined,
    public owner: TaskOwner,
  ) {
    super();
    this.name = name;
  }

  /** The task's root scope: the task itself. */
  get scope(): CancelScope {
    return this;
  }

  /** Starts `fn` as this task, under `parentScope`. No code of `fn` runs before this returns. */
  start(fn: () => R | PromiseLike<R>, parentScope: CancelScope | undefined, runtimeScope = parentScope): void {
    this.enter(parentScope, this as TaskImpl<unknown>);
    if (parentScope === undefined && runtimeScope !== undefined) this.setRuntime(runtimeScope.runtime);
    this.runtime.taskSpawned(this);
    if (this.runtime.debug) this.spawnStack = captureSpawnSite(TaskImpl.prototype.start);
    this.body = fn;
    // "No code of fn runs synchronously inside spawn": the body starts in a microtask, queued
    // here so that it carries the spawner's context (its AsyncLocalStorage values); the
    // microtask then makes the task's root scope the current one (see runNextBody).
    startQueue.push(this as TaskImpl<unknown>);
    if (contextFramesAreImmutable) void settled.then(runNextBody);
    else scopeStorage.run(this, queueStart);
  }

  /** The value the task returned, once done. */
  get value(): R | undefined {
    return this.state === "done" ? (this.outcome as R) : undefined;
  }

  /** The error (or `Cancelled`) the task ended with, once failed or cancelled. */
  get error(): unknown {
    return this.state === "done" ? undefined : this.outcome;
  }

  /** Where the task was spawned: captured in debug mode (it costs a stack trace) and by supervisors. */
  get spawnStack(): string | undefined {
    return this.taskDetails?.spawnStack;
  }

  set spawnStack(stack: string | undefined) {
    (this.taskDetails ??= new TaskDetails()).spawnStack = stack;
  }

  /** @internal Called once, synchronously, when the task ends (a Lock it holds breaks for its waiters). */
  get exitHooks(): Set<() => void> | undefined {
    return this.taskDetails?.exitHooks;
  }

  set exitHooks(hooks: Set<() => void> | undefined) {
    (this.taskDetails ??= new TaskDetails()).exitHooks = hooks;
  }

  /**
   * @internal Called once, synchronously, when the current *attempt* of the task ends: when the
   * task ends, and also when a supervisor restarts it after a failure (the task goes on, the
   * failed attempt is over). Values an acknowledged channel handed to the attempt go back here.
   */
  get attemptHooks(): Set<() => void> | undefined {
    return this.taskDetails?.attemptHooks;
  }

  set attemptHooks(hooks: Set<() => void> | undefined) {
    (this.taskDetails ??= new TaskDetails()).attemptHooks = hooks;
  }

  /** @internal The current attempt ended (see {@link attemptHooks}): run and forget its hooks. */
  endAttempt(): void {
    const details = this.taskDetails;
    const hooks = details?.attemptHooks;
    if (hooks === undefined) return;
    details!.attemptHooks = undefined;
    for (const hook of hooks) hook();
  }

  async result(): Promise<R> {
    if (this.state === "running") {
      const waiters = ((this.taskDetails ??= new TaskDetails()).waiters ??= []);
      await park<void>("Task.result", (parked) => {
        waiters.push(parked);
        parked.abort = () => {
          waiters.splice(waiters.indexOf(parked), 1);
          return true;
        };
      });
    } else {
      await checkpoint();
    }
    if (this.state === "done") return this.outcome as R;
    throw this.outcome;
  }

  /** @internal */
  finish(state: TaskState, value: R | undefined, error: unknown): void {
    this.state = state;
    this.outcome = state === "done" ? value : error;
    this.exit();
    // A wait left floating (a sleep lost in a Promise.race) no longer makes the task blocked:
    // the runtime would count it for ever and see "all blocked" while others still run.
    if (this.parks > 0) {
      this.parks = 0;
      this.runtime.taskResumed(this);
    }
    this.runtime.taskExited(this);
    const details = this.taskDetails;
    if (details !== undefined) {
      this.endAttempt();
      const { waiters, exitHooks } = details;
      details.waiters = details.exitHooks = undefined;
      if (waiters !== undefined) for (const w of waiters) wake(w, undefined);
      if (exitHooks !== undefined) for (const hook of exitHooks) hook();
    }
    this.owner(this as TaskImpl<unknown>);
  }

  get [Symbol.toStringTag](): string {
    return `Task #${this.id} "${this.name}" (${this.state})`;
  }

  /** Live state for console.log / util.inspect, instead of the internals. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const waiting = this.parks > 0 ? ", blocked" : "";
    const cancelled = this.cause !== null && this.state === "running" ? ", cancelled" : "";
    return `Task #${this.id} "${this.name}" (${this.state}${waiting}${cancelled})`;
  }
}

/** A task's rarely used state. */
class TaskDetails {
  spawnStack: string | undefined = undefined;
  waiters: Parked<void>[] | undefined = undefined;
  exitHooks: Set<() => void> | undefined = undefined;
  attemptHooks: Set<() => void> | undefined = undefined;
}

const settled = Promise.resolve();

/**
 * Tasks whose body is about to start, in spawn order. Each spawn queues one reaction on a
 * settled promise, and reactions run in the order they were queued, so the n-th reaction
 * starts the n-th task: no closure per task, and no context to look the task up in.
 */
const startQueue = new RingBuffer<TaskImpl<unknown>>();

/** Where contexts live on async resources: queues the start inside `run(task, …)`'s context. */
function queueStart(): void {
  void settled.then(runNextBody);
}

/**
 * Starts the body of the next task, in a microtask that carries its spawner's context.
 *
 * With immutable context frames, `enterWith` makes the task's root scope current for the rest
 * of this microtask, and so for every continuation of the body. That is one AsyncContextFrame
 * per task, where `AsyncLocalStorage.run()` would make two (Node 24–26 build a second frame to
 * restore the previous store); nothing needs restoring, since the next microtask or callback
 * runs in the context it captured. With a hundred thousand tasks that frame is a good part of
 * the cost. Elsewhere the reaction was queued inside `run(task, …)` and carries the task already.
 */
function runNextBody(): void {
  const task = startQueue.shift();
  if (contextFramesAreImmutable) scopeStorage.enterWith(task);
  const fn = task.body!;
  task.body = undefined;
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    return bodyFailed(task, err);
  }
  if (result instanceof Promise) {
    // Reactions run in the context of the then() call: the task's root scope.
    result.then(bodyReturned, bodyThrew);
  } else if (isThenable(result)) {
    // A foreign thenable may call back in any context: adopt it into a native promise first.
    Promise.resolve(result).then(bodyReturned, bodyThrew);
  } else {
    task.finish("done", result, undefined);
  }
}

function bodyReturned(value: unknown): void {
  currentScope()!.task!.finish("done", value, undefined);
}

function bodyThrew(err: unknown): void {
  bodyFailed(currentScope()!.task!, err);
}

function bodyFailed(task: TaskImpl<unknown>, err: unknown): void {
  if (isCancelled(err)) task.finish("cancelled", undefined, err);
  else task.finish("failed", undefined, annotateTaskChain(err, task));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<unknown>).then === "function";
}

/** The task running the calling code, if any. @internal */
export function currentTaskImpl(): TaskImpl<unknown> | undefined {
  return currentScope()?.task;
}

const annotated = new WeakSet<object>();

/**
 * Appends to an error's stack the chain of tasks it escaped from and who spawned them, once,
 * so that an error printed far from where it happened still says which task it came from.
 * @internal Exported for supervisors, which report a failure that a restart keeps inside the task.
 */
export function annotateTaskChain(err: unknown, task: TaskImpl<unknown>): unknown {
  if (!(err instanceof Error) || annotated.has(err) || err instanceof Cancelled) return err;
  annotated.add(err);
  const lines: string[] = [];
  for (let t: TaskImpl<unknown> | undefined = task; t !== undefined; t = t.parent) {
    const by = t.parent === undefined ? "" : `, spawned by task "${t.parent.name}" (#${t.parent.id})`;
    lines.push(`    in task "${t.name}" (#${t.id})${by}`);
    if (t.spawnStack !== undefined) lines.push(t.spawnStack);
  }
  try {
    err.stack = `${err.stack ?? String(err)}\n${lines.join("\n")}`;
  } catch {
    // A frozen error keeps its stack as it is.
  }
  return err;
}

