/**
 * Tasks: one async function running under its own root cancel scope, owned by a task group
 * (or by `run()`, for the root task). Its outcome always reaches its owner; `result()` is a
 * convenience on top, never the only way an error surfaces.
 *
 * @module
 */
import { CancelScope } from "./cancel-scope.js";
import { scopeStorage, currentScope } from "./context.js";
import { Cancelled, isCancelled } from "./errors.js";
import { park, wake, type Parked } from "./park.js";
import { checkpoint } from "./checkpoint.js";
import type { TaskInfo } from "./task-info.js";

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

/** @internal */
export class TaskImpl<R> implements Task<R> {
  readonly id = nextTaskId++;
  state: TaskState = "running";
  /** How many waits of this task are parked (0: running or runnable). */
  parks = 0;
  readonly scope = new CancelScope();
  value: R | undefined = undefined;
  error: unknown = undefined;
  /** Where the task was spawned, captured only in debug mode (it costs a stack trace). */
  spawnStack: string | undefined = undefined;
  private waiters: Parked<void>[] | undefined = undefined;
  /**
   * @internal Called once, synchronously, when the task ends (a Lock it holds breaks for its
   * waiters). Made on first use: a task nobody watches pays one field.
   */
  exitHooks: Set<() => void> | undefined = undefined;

  constructor(
    readonly name: string,
    readonly parent: TaskImpl<unknown> | undefined,
    public owner: TaskOwner,
  ) {}

  /** Starts `fn` as this task, under `parentScope`. No code of `fn` runs before this returns. */
  start(fn: () => R | PromiseLike<R>, parentScope: CancelScope | undefined, runtimeScope = parentScope): void {
    this.scope.enter(parentScope, this as TaskImpl<unknown>);
    if (parentScope === undefined && runtimeScope !== undefined) this.scope.setRuntime(runtimeScope.runtime);
    this.scope.runtime.taskSpawned(this);
    if (this.scope.runtime.debug) this.spawnStack = captureSpawnStack();
    void scopeStorage.run(this.scope, runTask, this as TaskImpl<unknown>, fn);
  }

  async result(): Promise<R> {
    if (this.state === "running") {
      await park<void>("Task.result", (parked) => {
        (this.waiters ??= []).push(parked);
        parked.abort = () => {
          this.waiters?.splice(this.waiters.indexOf(parked), 1);
          return true;
        };
      });
    } else {
      await checkpoint();
    }
    if (this.state === "done") return this.value as R;
    throw this.error;
  }

  cancel(reason?: unknown): void {
    this.scope.cancel(reason);
  }

  /** @internal */
  finish(state: TaskState, value: R | undefined, error: unknown): void {
    this.state = state;
    this.value = value;
    this.error = error;
    this.scope.exit();
    // A wait left floating (a sleep lost in a Promise.race) no longer makes the task blocked:
    // the runtime would count it for ever and see "all blocked" while others still run.
    if (this.parks > 0) {
      this.parks = 0;
      this.scope.runtime.taskResumed(this);
    }
    this.scope.runtime.taskExited(this);
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters !== undefined) for (const w of waiters) wake(w, undefined);
    const hooks = this.exitHooks;
    this.exitHooks = undefined;
    if (hooks !== undefined) for (const hook of hooks) hook();
    this.owner(this as TaskImpl<unknown>);
  }

  get [Symbol.toStringTag](): string {
    return `Task #${this.id} "${this.name}" (${this.state})`;
  }

  /** Live state for console.log / util.inspect, instead of the internals. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const waiting = this.parks > 0 ? ", blocked" : "";
    const cancelled = this.scope.cause !== null && this.state === "running" ? ", cancelled" : "";
    return `Task #${this.id} "${this.name}" (${this.state}${waiting}${cancelled})`;
  }
}

/** The body of every task; runs in the task's root scope. */
async function runTask(task: TaskImpl<unknown>, fn: () => unknown): Promise<void> {
  await undefined; // "no code of fn runs synchronously inside spawn"
  let value: unknown;
  try {
    value = await fn();
  } catch (err) {
    if (isCancelled(err)) task.finish("cancelled", undefined, err);
    else task.finish("failed", undefined, annotateTaskChain(err, task));
    return;
  }
  task.finish("done", value, undefined);
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

function captureSpawnStack(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, TaskImpl.prototype.start);
  const frames = (holder.stack ?? "").split("\n").slice(1);
  return frames.map((line) => `      spawned ${line.trim()}`).join("\n");
}
