/**
 * Tasks spawned with a limiter, `tg.spawn(fn, { limiter })`: a task that belongs to its group
 * from `spawn` on, but whose body starts only once it holds a token of the limiter. p-limit is
 * fast because it never starts queued work; this gives a task the same economy without taking
 * it out of the tree: the group waits for it, `task.cancel()` and the group's cancellation end
 * it, its failure reaches the group, and the debug task tree shows what it waits for.
 *
 * How. A task that finds a token free at spawn takes it and starts as any task does, through
 * the start queue, so children admitted at once start in spawn order. Otherwise it is a bare
 * record (its handle) counted live and blocked, in the limiter's FIFO of queued tasks
 * ({@link LimitedQueue}), with nothing else: no context frame, no scope link, no wait object,
 * no promise of its own. In the limiter's line, where `acquire()` callers wait, a run of tasks
 * queued one after another by one group stands as one {@link TaskRun}, so that admission is FIFO
 * across both kinds of waiter. The one thing each queued task adds is a link of the limiter's
 * *start chain*: a promise reaction attached at spawn, in the spawner's context. Links run in
 * queue order; the link of a task admitted meanwhile starts it (one `enterWith`, as an eagerly
 * spawned task: the body sees the spawner's AsyncLocalStorage values), the link of a task that
 * still waits holds the chain until it is admitted or cancelled. A queued task that is cancelled
 * (its own `cancel()`, or its group's scope: a {@link GroupQueue} parked there hears it) ends
 * `cancelled` without running its body and never takes a token. The token is the task's for its
 * whole life and goes back when it ends, however it ends: the task's owner is wrapped to give it
 * back before the group hears.
 *
 * Start order: a task starts after every task of the same limiter admitted before it (the
 * chain is FIFO), so a task that finds a token free while tasks admitted earlier have not yet
 * started goes through the chain after them, not through the start queue.
 *
 * The limiter is an area outside core (`CapacityLimiter` in sync/): it hands core its engine, a
 * {@link TaskLimiter}, under the {@link TASK_LIMITER} key.
 *
 * @module
 */
import type { ScopeNode } from "./cancel-scope.js";
import { contextFramesAreImmutable, scopeStorage } from "./context.js";
import { Parked, type AnyParked, type WaitAborter, type WaitDescriber } from "./park.js";
import { captureSpawnSite } from "./spawn-site.js";
import { runBody, type TaskImpl, type TaskOwner } from "./task.js";
import { PARK_ONE } from "./flags.js";
import { show } from "./validate.js";
import { QueuedWait, type WaitQueue } from "./wait-queue.js";

/**
 * What the `limiter` option of `tg.spawn` takes: a `CapacityLimiter` (the only kind of limiter
 * trellis has; this interface names what spawn reads of it, so that the core needs no import
 * of `trellis/sync`).
 */
export interface SpawnLimiter {
  /** The size of the limiter's sack of tokens. */
  readonly totalTokens: number;
  /** Tokens borrowed now. */
  readonly borrowedTokens: number;
}

/** @internal The key under which a limiter hands core its {@link TaskLimiter}. */
export const TASK_LIMITER: unique symbol = Symbol("trellis.TaskLimiter");

/** @internal The engine of a limiter, as limited spawns drive it (implemented by CapacityLimiter). */
export interface TaskLimiter {
  /** The limiter's FIFO line of waits; queued tasks stand in it as {@link TaskRun}s. */
  readonly line: WaitQueue;
  /** True if a token is free and nobody waits in line. */
  canAdmitNow(): boolean;
  /** Lends a token to `task` (whether one is free is the caller's business). */
  grant(task: TaskImpl<unknown>): void;
  /** Gives back `task`'s token if it still holds one (its body may have released it itself). */
  releaseTask(task: TaskImpl<unknown>): void;
  /** `CapacityLimiter (100/100 in use)`, for the label of a queued task. */
  describe(): string;
  /** Core's bookkeeping of the tasks queued on this limiter, made by core on first use. */
  queue: LimitedQueue | undefined;
}

/**
 * @internal The engine of the `limiter` option, or `undefined` when it is not given (`null` and
 * `undefined` mean not given, as for every option).
 *
 * @throws {TypeError} If `limiter` is not a CapacityLimiter.
 */
export function requireTaskLimiter(where: string, limiter: unknown): TaskLimiter | undefined {
  if (limiter == null) return undefined;
  const engine = (limiter as { [TASK_LIMITER]?: TaskLimiter })[TASK_LIMITER];
  if (engine === undefined) {
    throw new TypeError(`${where}: \`options.limiter\` must be a CapacityLimiter, got ${show(limiter)}`);
  }
  return engine;
}

// ---- states of a limited task, read from fields every task has (no field of its own) ------
//
//   queued:    phase "new" (not linked into the scope tree), body set
//   cancelled while queued, not ended yet: phase "new", body undefined
//   admitted, not started: phase "running", body set (its chain link starts it)
//   started:   as any task

function isQueued(task: TaskImpl<unknown>): boolean {
  return task.phase === "new" && task.body !== undefined;
}

/** @internal The tasks queued on one limiter, and its start chain. */
export class LimitedQueue {
  /**
   * Tasks of the chain, in FIFO order: `[startHead, admitHead)` admitted and waiting for their
   * link, `[admitHead, length)` queued (or cancelled while queued: skipped). Entries before
   * `startHead` are cleared; the array is reset whenever the chain catches up.
   */
  tasks: (TaskImpl<unknown> | undefined)[] = [];
  startHead = 0;
  admitHead = 0;
  /** Queued tasks not cancelled (what `statistics().tasksWaiting` counts of them). */
  waiting = 0;
  /** {@link TaskRun}s in the limiter's line. */
  runs = 0;
  /** The end of the start chain: the next link is attached here. */
  tail: Promise<LimitedQueue>;
  /** Set while the chain waits for the task at `startHead` to be admitted or to end. */
  hold: ((queue: LimitedQueue) => void) | undefined = undefined;
  /** The group that spawned last on this limiter (most spawn many tasks in a row). */
  lastGroup: GroupQueue | undefined = undefined;
  /** Every group that spawned on this limiter: one group queue each, however their spawns interleave. */
  private readonly groups = new WeakMap<TaskOwner, GroupQueue>();

  constructor(readonly limiter: TaskLimiter) {
    this.tail = Promise.resolve(this);
  }

  /** The group's queue on this limiter: made (and parked in the group's scope) on first use. */
  groupQueue(groupOwner: TaskOwner, scope: ScopeNode): GroupQueue {
    const last = this.lastGroup;
    if (last !== undefined && last.groupOwner === groupOwner && last.abort !== undefined) return last;
    let group = this.groups.get(groupOwner);
    if (group === undefined) this.groups.set(groupOwner, (group = new GroupQueue(this, groupOwner, scope)));
    else if (group.abort === undefined && scope.cause === null) {
      // Its scope was cancelled (the group queue left it), then uncancelled (a shield raised on
      // the group's scope): listen again, for the tasks it may queue now.
      group.abort = groupCancelled;
      scope.addParked(group);
    }
    return (this.lastGroup = group);
  }

  /** Appends a task to the chain: its link is a reaction attached now, in the caller's context. */
  link(task: TaskImpl<unknown>): void {
    this.tasks.push(task);
    if (contextFramesAreImmutable) this.tail = this.tail.then(carry);
    else scopeStorage.run(task, attachLink, this);
  }

  /** Forgets the entries both the chain and admission have passed, once both reach the end. */
  compact(): void {
    if (this.startHead === this.tasks.length && this.admitHead === this.tasks.length) {
      this.tasks = [];
      this.startHead = this.admitHead = 0;
    }
  }

  /** Wakes the chain if it waits for `task`, which was just admitted or cancelled. */
  poke(task: TaskImpl<unknown>): void {
    const hold = this.hold;
    if (hold !== undefined && this.tasks[this.startHead] === task) {
      this.hold = undefined;
      hold(this);
    }
  }
}

/** Node 20/22: the link is attached inside `run(task, …)`, so its reaction carries the task. */
function attachLink(queue: LimitedQueue): void {
  queue.tail = queue.tail.then(carry);
}

let capturedHold: ((queue: LimitedQueue) => void) | undefined;
function captureHold(resolve: (queue: LimitedQueue) => void): void {
  capturedHold = resolve;
}

/**
 * One link of the start chain, in the context of the spawner of the task at `startHead`: start
 * it if it was admitted, skip it if it was cancelled, else wait, in this same context (the
 * reaction attached here carries it), until it is one or the other.
 */
function carry(queue: LimitedQueue): LimitedQueue | Promise<LimitedQueue> {
  const task = queue.tasks[queue.startHead]!;
  if (isQueued(task)) {
    const held = new Promise<LimitedQueue>(captureHold);
    queue.hold = capturedHold;
    capturedHold = undefined;
    return held.then(carry);
  }
  // A task cancelled while queued may be passed before admission reaches it: its entry stays
  // for admission (its run counts it) and is cleared there.
  if (queue.startHead < queue.admitHead) queue.tasks[queue.startHead] = undefined;
  queue.startHead++;
  queue.compact();
  const fn = task.body;
  if (fn === undefined || task.phase !== "running") return queue; // cancelled while queued
  task.body = undefined;
  if (contextFramesAreImmutable) scopeStorage.enterWith(task);
  runBody(task, fn);
  return queue;
}

/**
 * @internal A run of tasks queued one after another by one group, standing in the limiter's
 * line as one waiter: `count` entries of the queue's `tasks` from `admitHead` (cancelled ones
 * included, skipped when their turn comes).
 */
export class TaskRun extends QueuedWait<void> {
  count = 0;

  constructor(readonly group: GroupQueue) {
    super(undefined, "tasks queued for a token");
  }
}

/**
 * @internal Called by the limiter when a {@link TaskRun} is first in its line and a token is
 * free: admits the next task of the run that was not cancelled (the limiter then grants it the
 * token), or returns `undefined` if none is left. The run leaves the line once exhausted.
 */
export function admitFromRun(run: TaskRun): TaskImpl<unknown> | undefined {
  const group = run.group;
  const queue = group.queue;
  let admitted: TaskImpl<unknown> | undefined;
  while (admitted === undefined && run.count > 0) {
    const task = queue.tasks[queue.admitHead]!;
    if (queue.admitHead < queue.startHead) queue.tasks[queue.admitHead] = undefined; // passed by the chain
    queue.admitHead++;
    run.count--;
    if (isQueued(task)) admitted = task;
  }
  if (run.count === 0) {
    queue.limiter.line.remove(run);
    queue.runs--;
  }
  queue.compact();
  if (admitted === undefined) return undefined;
  queue.waiting--;
  admitted.flags -= PARK_ONE; // its one park, counted while it was queued
  admitted.runtime.taskResumed(admitted);
  admitted.enter(group.scope, admitted);
  queue.poke(admitted);
  return admitted;
}

/**
 * @internal What to add to the length of the limiter's line to count its waiters: each queued
 * task not cancelled, less the {@link TaskRun}s that stand for them.
 */
export function queuedTaskAdjustment(limiter: TaskLimiter): number {
  const queue = limiter.queue;
  return queue === undefined ? 0 : queue.waiting - queue.runs;
}

/**
 * @internal One group's tasks on one limiter: owns their wrapped owner, and is parked (linked,
 * not counted as a wait of anyone) in the group's scope, so that the scope's cancellation
 * reaches the tasks it has queued. The debug task tree lists them through it.
 */
export class GroupQueue extends Parked<void> {
  /** The owner of this group's limited tasks: gives the token back, then tells the group. */
  readonly owner: TaskOwner;

  constructor(
    readonly queue: LimitedQueue,
    readonly groupOwner: TaskOwner,
    scope: ScopeNode,
  ) {
    super(scope, admissionLabel);
    const limiter = queue.limiter;
    // The group hears first: if the task failed, the group is cancelled, and its queued tasks
    // are dropped before the token goes back, so that none of them starts after the failure.
    this.owner = {
      get runtime() {
        return groupOwner.runtime;
      },
      get spawner() {
        return groupOwner.spawner;
      },
      taskEnded(task) {
        groupOwner.taskEnded(task);
        limiter.releaseTask(task);
      },
    };
    owners.set(this.owner, this);
    this.abort = groupCancelled;
    scope.addParked(this);
  }

  /** The tasks of this group still queued (not admitted, not cancelled), in FIFO order. */
  *queued(): IterableIterator<TaskImpl<unknown>> {
    const tasks = this.queue.tasks;
    for (let i = this.queue.admitHead; i < tasks.length; i++) {
      const task = tasks[i]!;
      if (task.owner === this.owner && isQueued(task)) yield task;
    }
  }
}

/** The group queue of each limited owner, to find a cancelled task's queue (one entry per group and limiter). */
const owners = new WeakMap<TaskOwner, GroupQueue>();

/** `waiting for a token of CapacityLimiter (100/100 in use)`, formatted only when asked. */
const admissionLabel: WaitDescriber = {
  describeWait: (parked: AnyParked) => `waiting for a token of ${(parked as GroupQueue).queue.limiter.describe()}`,
};

/**
 * The group's scope was cancelled: every task it queued on this limiter ends without running.
 * The group queue leaves the scope (nothing more can be queued in a cancelled group: a spawn
 * that finds no token ends at once), and returns false: there is no waiter to wake.
 */
const groupCancelled: WaitAborter = {
  abortWait(parked: AnyParked): boolean {
    const group = parked as GroupQueue;
    group.scope!.removeParked(group);
    for (const task of [...group.queued()]) dropQueued(group, task);
    return false;
  },
};

/**
 * @internal The hook of `task.cancel()` for a task that has not joined the scope tree: if it is
 * queued on a limiter, it ends `cancelled` without running.
 */
export function queuedTaskCancelled(task: TaskImpl<unknown>): void {
  const group = owners.get(task.owner);
  if (group !== undefined && isQueued(task)) dropQueued(group, task);
}

/**
 * Takes a queued task out of the running: it will never be admitted (its body is dropped, which
 * admission and the chain read as "cancelled"), and it ends in a microtask, as a cancelled wait
 * would: joined to its group's scope for that moment, so that it ends with the right `Cancelled`.
 */
function dropQueued(group: GroupQueue, task: TaskImpl<unknown>): void {
  task.body = undefined;
  group.queue.waiting--;
  endQueue.push(task, group.scope!);
  void settled.then(endNextDropped);
  group.queue.poke(task);
}

const settled = Promise.resolve();
const endQueue: (TaskImpl<unknown> | ScopeNode)[] = [];
let endHead = 0;

function endNextDropped(): void {
  const task = endQueue[endHead] as TaskImpl<unknown>;
  const scope = endQueue[endHead + 1] as ScopeNode;
  endQueue[endHead++] = endQueue[endHead++] = undefined!;
  if (endHead === endQueue.length) endQueue.length = endHead = 0;
  task.enter(scope, task);
  task.finish("cancelled", undefined, task.cancelledError(false));
}

/**
 * @internal Spawns `task` (made by the group, its owner the group's) to run `fn` once it holds a
 * token of `limiter`; `scope` is the group's scope.
 */
export function spawnLimited(task: TaskImpl<unknown>, fn: () => unknown, scope: ScopeNode, limiter: TaskLimiter): void {
  const queue = (limiter.queue ??= new LimitedQueue(limiter));
  const group = queue.groupQueue(task.owner, scope);
  task.setOwner(group.owner);
  const chainIdle = queue.startHead === queue.tasks.length;
  if (limiter.canAdmitNow()) {
    limiter.grant(task);
    if (chainIdle) return task.start(fn, scope);
    // Admitted at once, but tasks admitted before it have not started yet: it starts after them.
    task.join(scope);
    if (task.runtime.debug) task.spawnStack = captureSpawnSite(spawnLimited);
    task.body = fn;
    queue.admitHead++;
    return queue.link(task);
  }
  if (task.runtime.debug) task.spawnStack = captureSpawnSite(spawnLimited);
  task.body = fn;
  // Live, outside the scope tree until admitted.
  const runtime = task.runtime; // its owner's: the group's
  runtime.taskSpawned(task);
  if (scope.cause !== null) {
    // Spawned into a cancelled group, with no token free: it ends cancelled without running.
    task.body = undefined;
    endQueue.push(task, scope);
    void settled.then(endNextDropped);
    return;
  }
  // Queued: blocked on the limiter.
  task.flags += PARK_ONE;
  runtime.taskBlocked(task, group);
  queue.waiting++;
  const line = limiter.line;
  const last = line.last();
  if (last instanceof TaskRun && last.group === group) last.count++;
  else {
    const run = new TaskRun(group);
    run.count = 1;
    line.append(run);
    queue.runs++;
  }
  queue.link(task);
}
