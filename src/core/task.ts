/**
 * Tasks: one async function running under its own root cancel scope, owned by a task group
 * (or by `run()`, for the root task). Its outcome always reaches its owner; `result()` is a
 * convenience on top, never the only way an error surfaces.
 *
 * @module
 */
import { ScopeDetails, ScopeNode, taskOf } from "./cancel-scope.js";
import { CANCELLED, COUNTING, DONE, FAILED, HAS_DETAILS, IS_TASK, OWN_PARENT, PARK_ONE, STATE_MASK, STATE_SHIFT } from "./flags.js";
import type { Runtime } from "./runtime.js";
import { scopeStorage, currentScope, contextFramesAreImmutable } from "./context.js";
import { Cancelled, firstWithSuppressed, isCancelled, markEscapedCancelled } from "./errors.js";
import { park, wake, type Parked, type WaitDescriber } from "./park.js";
import { checkpoint } from "./checkpoint.js";
import type { TaskInfo } from "./task-info.js";
import { captureSpawnSite } from "./spawn-site.js";
import { ChunkQueue } from "./chunk-queue.js";
import { callInstruments } from "./instruments.js";
import { queuedTaskCancelled } from "./limited-spawn.js";
import type { CancelSource } from "./errors.js";

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

/**
 * @internal What owns a task and receives its outcome when it ends: its group, a pending
 * `tg.start`, `run()`, a server. A task reads its run and (usually) its spawner here, so that
 * a hundred thousand tasks of one group do not each keep a copy of them.
 */
export interface TaskOwner {
  /** The run the owner's tasks belong to. */
  readonly runtime: Runtime;
  /**
   * The task that spawns the owner's tasks in the common case (a group's body runs in the task
   * that opened it). A task spawned by any other task records its spawner in its details.
   */
  readonly spawner: TaskImpl<unknown> | undefined;
  /** Called once, synchronously, when the task ends. */
  taskEnded(task: TaskImpl<unknown>): void;
}

/** @internal A task group as the task that opened it sees it (see `openGroup` in task-group.ts). */
export interface OpenGroup {
  readonly name: string | undefined;
  /** The promise of `withTaskGroup()`/`withSupervisor()`. */
  readonly promise: Promise<unknown> | undefined;
  /** Where it was opened (debug mode). */
  readonly openedAt: string | undefined;
}

/** With `debug`, a task that raises this many `Cancelled` in a row without leaving the cancelled scope is reported. */
const SWALLOWED_CANCELLED_WARNING = 1000;

let nextTaskId = 1;

/**
 * @internal A task *is* its root cancel scope: one object per task instead of two (a hundred
 * thousand tasks are a hundred thousand fewer objects for the garbage collector). Its `outer`
 * scope is its group's; `task.cancel()` cancels this task alone.
 */
export class TaskImpl<R> extends ScopeNode implements Task<R> {
  readonly id = nextTaskId++;
  declare readonly name: string;
  /**
   * The function to run until the body starts; then `undefined`; once the task has ended, the
   * value or the error it ended with (its state says which): a task's body and its outcome are
   * never both needed. Once the task has details (the `HAS_DETAILS` bit), the slot holds them,
   * and they hold the body or outcome (see {@link held}): one field for three.
   */
  private slot: unknown;
  // The rest of the task's state lives in `flags` (its bits: flags.ts) and in `details`, a
  // TaskDetails made on first use: a task nobody watches pays nothing for it. Its run and,
  // usually, its spawner are its owner's (TaskOwner). 11 fields in all, 104 bytes on Node 26.

  constructor(
    name: string,
    parent: TaskImpl<unknown> | undefined,
    public owner: TaskOwner,
  ) {
    super();
    this.flags = IS_TASK;
    this.name = name;
    this.slot = undefined;
    if (parent !== owner.spawner) this.pinParent(parent);
  }

  /** The task that spawned this one (`undefined`: code outside any task), for error chains and the task tree. */
  get parent(): TaskImpl<unknown> | undefined {
    return (this.flags & OWN_PARENT) !== 0 ? (this.details as TaskDetails).parent : this.owner.spawner;
  }

  /** Records the spawner in the details: it is not the owner's usual one. */
  private pinParent(parent: TaskImpl<unknown> | undefined): void {
    if ((this.flags & OWN_PARENT) !== 0) return;
    this.taskDetails.parent = parent;
    this.flags += OWN_PARENT;
  }

  /** @internal The run the task belongs to: its owner's. */
  get runtime(): Runtime {
    return this.owner.runtime;
  }

  /** @internal Hands the task to a new owner (a started task moves into its group). */
  setOwner(owner: TaskOwner): void {
    const parent = this.parent;
    if (parent !== owner.spawner) this.pinParent(parent);
    this.owner = owner;
  }

  /** @internal A task's root scope is the task itself, so the task of its code is the task. */
  get task(): TaskImpl<unknown> {
    return this as TaskImpl<unknown>;
  }

  /** The task's root scope: the task itself. */
  get scope(): ScopeNode {
    return this;
  }

  /** Running (or about to start), or how it ended. */
  get state(): TaskState {
    return TASK_STATES[(this.flags & STATE_MASK) >> STATE_SHIFT]!;
  }

  /** True while the task has not ended (the same as `state === "running"`, without the lookup). */
  get running(): boolean {
    return (this.flags & STATE_MASK) === 0;
  }

  /** How many waits of this task are parked (0: running or runnable). */
  get parks(): number {
    return this.flags < PARK_ONE ? 0 : Math.floor(this.flags / PARK_ONE);
  }

  /** @internal The function to run, until the body starts (set by `start`, cleared as the body starts). */
  get body(): (() => R | PromiseLike<R>) | undefined {
    return (this.flags & STATE_MASK) === 0 ? (this.held as (() => R | PromiseLike<R>) | undefined) : undefined;
  }

  set body(fn: (() => R | PromiseLike<R>) | undefined) {
    this.held = fn;
  }

  /** The body or the outcome (see {@link slot}). */
  private get held(): unknown {
    return (this.flags & HAS_DETAILS) !== 0 ? (this.slot as TaskDetails).held : this.slot;
  }

  private set held(value: unknown) {
    if ((this.flags & HAS_DETAILS) !== 0) (this.slot as TaskDetails).held = value;
    else this.slot = value;
  }

  /** @internal The task's cold state, if made (it lives in the slot: see {@link slot}). */
  protected get details(): TaskDetails | undefined {
    return (this.flags & HAS_DETAILS) !== 0 ? (this.slot as TaskDetails) : undefined;
  }

  /**
   * @internal Checkpoints this task has passed since {@link countCheckpoints} was first called
   * for it (see countCheckpoint in checkpoint.ts).
   */
  get checkpoints(): number {
    return this.details?.checkpoints ?? 0;
  }

  /**
   * @internal From now on, count this task's checkpoints (see countCheckpoint in checkpoint.ts):
   * counting costs a field and a store per checkpoint, so only tasks whose count is read pay it.
   */
  countCheckpoints(): void {
    if ((this.flags & COUNTING) !== 0) return;
    void this.taskDetails;
    this.flags += COUNTING;
  }

  /** @internal One more checkpoint passed (called only while `COUNTING` is set). */
  checkpointPassed(): void {
    (this.details as TaskDetails).checkpoints++;
  }

  /** The task's cold state, made on first use. */
  private get taskDetails(): TaskDetails {
    return this.more as TaskDetails;
  }

  protected override makeDetails(): TaskDetails {
    const details = new TaskDetails();
    details.held = this.slot;
    this.slot = details;
    this.flags += HAS_DETAILS;
    return details;
  }

  /** Starts `fn` as this task, under `parentScope`. No code of `fn` runs before this returns. */
  start(fn: () => R | PromiseLike<R>, parentScope: ScopeNode | undefined): void {
    const runtime = this.join(parentScope);
    if (runtime.debug) this.spawnStack = captureSpawnSite(TaskImpl.prototype.start);
    this.body = fn;
    // "No code of fn runs synchronously inside spawn": the body starts in a microtask, queued
    // here so that it carries the spawner's context (its AsyncLocalStorage values); the
    // microtask then makes the task's root scope the current one (see runNextBody).
    startQueue.push(this as TaskImpl<unknown>);
    if (contextFramesAreImmutable) void settled.then(runNextBody);
    else scopeStorage.run(this, queueStart);
  }

  /**
   * @internal Links the task under `parentScope` and counts it as live, without starting a body
   * ({@link start} does both; a task spawned with a limiter waits so for its token, and starts
   * with {@link runBody}: see limited-spawn.ts).
   */
  join(parentScope: ScopeNode | undefined): Runtime {
    this.enter(parentScope, this as TaskImpl<unknown>);
    const runtime = this.runtime;
    runtime.taskSpawned(this);
    return runtime;
  }

  /**
   * @internal Cancels the task. One spawned with a limiter and still queued for a token is not in
   * the scope tree yet: it ends without running its body (limited-spawn.ts).
   */
  override cancelWith(reason: unknown, source: CancelSource): void {
    super.cancelWith(reason, source);
    if (this.phase === "new") queuedTaskCancelled(this as TaskImpl<unknown>);
  }

  /** The value the task returned, once done. */
  get value(): R | undefined {
    return (this.flags & STATE_MASK) === DONE ? (this.held as R) : undefined;
  }

  /** The error (or `Cancelled`) the task ended with, once failed or cancelled. */
  get error(): unknown {
    const state = this.flags & STATE_MASK;
    return state === 0 || state === DONE ? undefined : this.held;
  }

  /** Where the task was spawned: captured in debug mode (it costs a stack trace) and by supervisors. */
  get spawnStack(): string | undefined {
    return this.details?.spawnStack;
  }

  set spawnStack(stack: string | undefined) {
    this.taskDetails.spawnStack = stack;
  }

  /** @internal When the task last parked, on the run's clock (recorded while `runtime.trackWaits`). */
  get waitingSince(): number | undefined {
    return this.details?.waitingSince;
  }

  set waitingSince(time: number | undefined) {
    this.taskDetails.waitingSince = time;
  }

  /** @internal Called once, synchronously, when the task ends (a Lock it holds breaks for its waiters). */
  get exitHooks(): Set<() => void> | undefined {
    return this.details?.exitHooks;
  }

  set exitHooks(hooks: Set<() => void> | undefined) {
    this.taskDetails.exitHooks = hooks;
  }

  /** @internal A group opened in this task (withTaskGroup, withSupervisor) that has not finished. */
  addOpenGroup(group: OpenGroup): void {
    (this.taskDetails.openGroups ??= new Set()).add(group);
  }

  /** @internal */
  removeOpenGroup(group: OpenGroup): void {
    this.details?.openGroups?.delete(group);
  }

  /**
   * @internal Debug mode: a checkpoint of this task raised `Cancelled`. A task that raises
   * {@link SWALLOWED_CANCELLED_WARNING} of them in a row (no scope absorbed one meanwhile) is
   * catching and ignoring them in a loop: it will never finish, nor will its group. Said once.
   */
  noteCancelledRaised(err: Cancelled): void {
    const details = this.taskDetails;
    if (++details.cancelledInARow < SWALLOWED_CANCELLED_WARNING || details.warnedSwallowing) return;
    details.warnedSwallowing = true;
    process.stderr.write(
      `trellis: task "${this.name}" (#${this.id}) has caught and ignored ${details.cancelledInARow} Cancelled in a row (${err.message}): it is looping in a cancelled scope, so neither it nor its task group can finish. Let Cancelled propagate: \`catch (err) { if (isCancelled(err)) throw err; … }\`.\n${this.spawnStack ?? ""}${this.spawnStack === undefined ? "" : "\n"}`,
    );
  }

  /** @internal A scope of this task absorbed a `Cancelled`: the run of raised ones is over. */
  cancelledAbsorbed(): void {
    const details = this.details as TaskDetails | undefined;
    if (details !== undefined) details.cancelledInARow = 0;
  }

  /**
   * @internal The body has ended. A group it opened and did not await still belongs to the
   * task: the task finishes once the group has, and the group's error becomes the task's.
   */
  bodyEnded(state: TaskState, value: R | undefined, error: unknown): void {
    const groups = this.details?.openGroups;
    if (groups === undefined || groups.size === 0) return this.finish(state, value, error);
    this.waitForOpenGroups([...groups], state, value, error);
  }

  private waitForOpenGroups(groups: OpenGroup[], state: TaskState, value: R | undefined, error: unknown): void {
    if (this.runtime.debug) for (const group of groups) reportUnawaitedGroup(this as TaskImpl<unknown>, group);
    const errors: unknown[] = state === "failed" ? [error] : [];
    let pending = groups.length;
    let parked!: Parked<void>;
    // Parked (not cancellable): the task counts as blocked meanwhile, as waitAllTasksBlocked
    // and MockClock's autojump need.
    void park<void>("waiting for a task group that was not awaited", (p) => (parked = p), false, this);
    // As if the body had awaited each group at its end: a failure of a group fails the task; the
    // task's own cancellation ending a group ends a task that had returned as cancelled.
    let cancelled: unknown = state === "cancelled" ? error : undefined;
    let wasCancelled = state === "cancelled";
    const settle = () => {
      if (--pending > 0) return;
      wake(parked, undefined);
      if (errors.length > 0) this.finish("failed", undefined, firstWithSuppressed(errors, `task "${this.name}"`));
      else if (wasCancelled) this.finish("cancelled", undefined, cancelled);
      else this.finish(state, value, error);
    };
    const failed = (err: unknown) => {
      if (this.ownsCancelled(err)) {
        if (!wasCancelled) [wasCancelled, cancelled] = [true, err];
      } else {
        markEscapedCancelled(err);
        errors.push(annotateTaskChain(err, this as TaskImpl<unknown>));
      }
      settle();
    };
    for (const group of groups) {
      if (group.promise === undefined) settle();
      else group.promise.then(settle, failed);
    }
  }

  /**
   * @internal Called once, synchronously, when the current *attempt* of the task ends: when the
   * task ends, and also when a supervisor restarts it after a failure (the task goes on, the
   * failed attempt is over). Values an acknowledged channel handed to the attempt go back here.
   */
  get attemptHooks(): Set<() => void> | undefined {
    return this.details?.attemptHooks;
  }

  set attemptHooks(hooks: Set<() => void> | undefined) {
    this.taskDetails.attemptHooks = hooks;
  }

  /** @internal The current attempt ended (see {@link attemptHooks}): run and forget its hooks. */
  endAttempt(): void {
    const details = this.details as TaskDetails | undefined;
    const hooks = details?.attemptHooks;
    if (hooks === undefined) return;
    details!.attemptHooks = undefined;
    for (const hook of hooks) hook();
  }

  async result(): Promise<R> {
    if (this.running) {
      const waiters = (this.taskDetails.waiters ??= []);
      await park<void>(resultLabel, (parked) => {
        parked.data = this;
        waiters.push(parked);
        parked.abort = () => {
          waiters.splice(waiters.indexOf(parked), 1);
          return true;
        };
      });
    } else {
      await checkpoint();
    }
    if ((this.flags & STATE_MASK) === DONE) return this.held as R;
    throw this.held;
  }

  /** @internal */
  finish(state: TaskState, value: R | undefined, error: unknown): void {
    this.flags += state === "done" ? DONE : state === "failed" ? FAILED : CANCELLED;
    this.held = state === "done" ? value : error;
    this.exit();
    // A wait left floating (a sleep lost in a Promise.race) no longer makes the task blocked:
    // the runtime would count it for ever and see "all blocked" while others still run.
    if (this.flags >= PARK_ONE) {
      this.flags %= PARK_ONE;
      this.runtime.taskResumed(this);
    }
    this.runtime.taskExited(this);
    const details = this.details as TaskDetails | undefined;
    if (details !== undefined) {
      this.endAttempt();
      const { waiters, exitHooks } = details;
      details.waiters = details.exitHooks = undefined;
      if (waiters !== undefined) for (const w of waiters) wake(w, undefined);
      if (exitHooks !== undefined) for (const hook of exitHooks) hook();
    }
    this.owner.taskEnded(this as TaskImpl<unknown>);
  }

  get [Symbol.toStringTag](): string {
    return `Task #${this.id} "${this.name}" (${this.state})`;
  }

  /** Live state for console.log / util.inspect, instead of the internals. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const waiting = this.flags >= PARK_ONE ? ", blocked" : "";
    const cancelled = this.cause !== null && this.running ? ", cancelled" : "";
    return `Task #${this.id} "${this.name}" (${this.state}${waiting}${cancelled})`;
  }
}

/** A task's rarely used state, beside its root scope's (one object, made on first use). */
class TaskDetails extends ScopeDetails {
  /** The task's body or outcome, once the task's slot holds these details (TaskImpl.slot). */
  held: unknown = undefined;
  /** See TaskImpl.countCheckpoints. */
  checkpoints = 0;
  /** The spawner, when it is not the owner's usual one (see TaskOwner.spawner). */
  parent: TaskImpl<unknown> | undefined = undefined;
  spawnStack: string | undefined = undefined;
  openGroups: Set<OpenGroup> | undefined = undefined;
  cancelledInARow = 0;
  warnedSwallowing = false;
  waiters: Parked<void>[] | undefined = undefined;
  exitHooks: Set<() => void> | undefined = undefined;
  waitingSince: number | undefined = undefined;
  attemptHooks: Set<() => void> | undefined = undefined;
}

const settled = Promise.resolve();

const TASK_STATES: readonly TaskState[] = ["running", "done", "failed", "cancelled"];

/** `Task.result (task "fetch" #4)`, formatted only when asked. */
const resultLabel: WaitDescriber = {
  describeWait(parked) {
    const task = parked.data as TaskImpl<unknown>;
    return `Task.result (task ${JSON.stringify(task.name)} #${task.id})`;
  },
};

/**
 * Chunks of 1024 slots the start queue keeps when they drain: bursts of spawns repeat (a
 * server's accept loop, a fan-out per request), and freeing and remaking the chunks on each
 * burst costs more than the memory (precondition: one start queue per process, so this is at
 * most 128 × 8 KiB = 1 MiB kept, and only after a burst that large). Property-tested in
 * test/core/chunk-queue.prop.test.ts.
 */
const START_QUEUE_KEEPS_CHUNKS = 128;

/**
 * Tasks whose body is about to start, in spawn order. Each spawn queues one reaction on a
 * settled promise, and reactions run in the order they were queued, so the n-th reaction
 * starts the n-th task: no closure per task, and no context to look the task up in.
 */
const startQueue = new ChunkQueue<TaskImpl<unknown>>(START_QUEUE_KEEPS_CHUNKS);

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
  runBody(task, fn);
}

/**
 * @internal Runs `fn` as the body of `task`, which has joined its group: in a microtask whose
 * context is the task's own (its root scope is the current one) and carries its spawner's
 * AsyncLocalStorage values. Shared with limited-spawn.ts.
 */
export function runBody(task: TaskImpl<unknown>, fn: () => unknown): void {
  if (task.runtime.instruments !== undefined) callInstruments(task.runtime, "taskStarted", task);
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
    task.bodyEnded("done", result, undefined);
  }
}

function bodyReturned(value: unknown): void {
  taskOf(currentScope()!)!.bodyEnded("done", value, undefined);
}

function bodyThrew(err: unknown): void {
  bodyFailed(taskOf(currentScope()!)!, err);
}

/**
 * A task ends as cancelled only if one of its own enclosing scopes was cancelled. A `Cancelled`
 * that belongs to none of them (another task's, passed on by `t.cancel(); await t.result()`)
 * is a failure like any other, which reaches the group.
 */
function bodyFailed(task: TaskImpl<unknown>, err: unknown): void {
  if (task.ownsCancelled(err)) task.bodyEnded("cancelled", undefined, err);
  else {
    markEscapedCancelled(err);
    task.bodyEnded("failed", undefined, annotateTaskChain(err, task));
  }
}

function reportUnawaitedGroup(task: TaskImpl<unknown>, group: OpenGroup): void {
  const what = group.name === undefined ? "a task group" : `task group "${group.name}"`;
  process.stderr.write(
    `trellis: task "${task.name}" (#${task.id}) reached the end of its body while ${what} that it opened was still running: the group's promise was not awaited. The task waits for the group before it finishes; await it where it is opened (\`await withTaskGroup(…)\`).\n${group.openedAt ?? "      (where it was opened is unknown)"}\n`,
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<unknown>).then === "function";
}

/** The task running the calling code, if any. @internal */
export function currentTaskImpl(): TaskImpl<unknown> | undefined {
  const scope = currentScope();
  return scope === undefined ? undefined : taskOf(scope);
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

