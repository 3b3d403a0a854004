/**
 * A run's shared machinery: its clock, its one queue of deadlines behind one real timer, and
 * the count of blocked tasks that `waitAllTasksBlocked` and the mock clock's autojump watch.
 * `run()` makes one per call; code outside `run()` shares a default runtime on the real clock.
 *
 * @module
 */
import { systemClock, type Clock, type ClockHost } from "./clock.js";
import { TimerQueue, type TimerEntry } from "./timer-queue.js";
import type { TaskInfo } from "./task-info.js";
import type { TrackedResource } from "./resources.js";
import type { TaskImpl } from "./task.js";
import { describeWait, type AnyParked } from "./park.js";
import { callInstruments, type Instrument } from "./instruments.js";

export type { Instrument } from "./instruments.js";


interface IdleWatcher {
  cushionMs: number;
  /** Autojump yields to every `waitAllTasksBlocked` caller, as in Trio. */
  lowPriority: boolean;
  seq: number;
  callback: () => void;
}

/** @internal One per `run()` (and one shared outside): the clock, the deadline queue, blocked-task counts. */
export class Runtime implements ClockHost {
  readonly timers = new TimerQueue();
  private _instruments: readonly Instrument[] | undefined = undefined;
  /** Debug mode: tasks record where they were spawned. */
  debug = false;
  private _trackWaits = false;
  /**
   * Speed shortcut: true while anything watches tasks block, resume, spawn and exit (an
   * instrument, tracked waits for the task tree, a `waitAllTasksBlocked` or autojump watcher).
   * Parking and waking check this one flag instead of three, and pay nothing else while it is
   * false: only the count of blocked tasks is kept (and `wakeEpoch` is not bumped: it is only
   * compared across a cushion during which an idle watcher exists). Precondition: every change
   * of `instruments`, `trackWaits` and `idleWatchers` goes through {@link rewatch} (the first
   * two are accessors for that reason). Property-tested in test/core/park-bookkeeping.prop.test.ts.
   */
  private watched = false;
  /** Waits with no deadline that must keep the process alive (sleepForever). */
  private holds = 0;
  private holdHandle: NodeJS.Timeout | undefined;
  liveTasks = 0;
  blockedTasks = 0;
  /** Called when the last live task has exited (run() waits for strays so that nothing is frozen). */
  onAllExited: (() => void) | undefined = undefined;
  /** Groups of this run that recorded an error and have not finished: reported if the process must end first. */
  readonly failingGroups = new Set<{ readonly name: string | undefined; readonly errors: readonly unknown[] }>();
  /** Open resources of this run (resources.ts); force-closed by close(). */
  readonly resources = new Set<TrackedResource>();
  /** Bumped whenever a parked task is woken: a change here means "not idle for the whole cushion". */
  private wakeEpoch = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = Infinity;
  private timerRefed = true;
  private readonly idleWatchers: IdleWatcher[] = [];
  private idleSeq = 0;
  private idleCheck: { cancel(): void } | undefined;

  constructor(readonly clock: Clock = systemClock) {}

  /** The instruments of the run (run()'s option), if any. */
  get instruments(): readonly Instrument[] | undefined {
    return this._instruments;
  }

  set instruments(instruments: readonly Instrument[] | undefined) {
    this._instruments = instruments;
    this.rewatch();
  }

  /** Tasks record when they parked, for the debug task tree (debug mode, or a served tree). */
  get trackWaits(): boolean {
    return this._trackWaits;
  }

  set trackWaits(on: boolean) {
    this._trackWaits = on;
    this.rewatch();
  }

  /** Recomputes {@link watched}: call it after every change of what it summarises. */
  private rewatch(): void {
    this.watched = this._instruments !== undefined || this._trackWaits || this.idleWatchers.length > 0;
  }

  now(): number {
    return this.clock.now();
  }

  // ---- deadlines --------------------------------------------------------------------------

  addTimer(entry: TimerEntry): void {
    this.timers.push(entry);
    // Shortcut: arm for the new entry without asking the queue for its earliest (a peek may
    // sort a bucket; with a stopped mock clock, where nothing is ever armed, every sleep would
    // ask). Precondition: while the timer is armed, no queued deadline is earlier than
    // `timerDeadline` (arming takes the earliest; only an earlier entry or move re-arms, and
    // removals only raise the earliest), so an entry earlier than it is the earliest of all.
    // Disarmed (`Infinity`) with entries queued happens only on a stopped clock (armFor then
    // disarms again) and inside fireExpired (which re-arms from the queue when it ends).
    // Exercised by test/time/deadline-order.prop.test.ts (real and mock clocks).
    if (entry.deadline < this.timerDeadline) this.armFor(entry.deadline);
    else this.updateRef();
    // An autojump watcher that was dormant for want of a deadline has one now.
    if (this.idleWatchers.length > 0 && this.blockedTasks === this.liveTasks) this.scheduleIdleCheck();
  }

  removeTimer(entry: TimerEntry): void {
    if (!this.timers.remove(entry)) return;
    if (this.timers.size === 0) this.disarm();
    else this.updateRef();
  }

  /**
   * Re-files an entry whose deadline moved, and re-arms if it is now the earliest. A deadline
   * moved later leaves the timer armed for the earlier time: it fires, finds nothing expired
   * and re-arms (fireExpired pops only what has expired), which costs less than a peek per move.
   */
  moveTimer(entry: TimerEntry): void {
    this.timers.update(entry);
    if (entry.deadline < this.timerDeadline) this.armFor(entry.deadline);
  }

  nextDeadline(): number {
    return this.timers.peek()?.deadline ?? Infinity;
  }

  timeChanged(): void {
    this.fireExpired();
  }

  /** Fires every entry whose deadline has been reached, then re-arms for the next one. */
  fireExpired(): void {
    const now = this.clock.now();
    for (let entry = this.timers.popExpired(now); entry !== undefined; entry = this.timers.popExpired(now)) {
      entry.fire();
    }
    this.arm();
  }

  /** Arms the real timer for the earliest queued deadline (or clears it if none). */
  private arm(): void {
    const first = this.timers.peek();
    if (first === undefined) return this.disarm();
    this.armFor(first.deadline);
  }

  /** Arms the real timer for `deadline`, which must be the earliest queued one. */
  private armFor(deadline: number): void {
    const sleepMs = this.clock.deadlineToSleepTime(deadline);
    if (sleepMs === Infinity) return this.disarm(); // a stopped mock clock: only a jump gets there
    if (this.timer !== undefined) clearTimeout(this.timer);
    // Node's timers have millisecond granularity and may fire a little early: fireExpired()
    // only pops what has really expired, and re-arms for the rest.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDeadline = Infinity;
      this.fireExpired();
    }, Math.max(0, Math.ceil(sleepMs)));
    this.timerDeadline = deadline;
    this.timerRefed = true;
    this.updateRef();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Infinity;
  }

  /** The one timer keeps the process alive only while some entry would (a pending sleep does). */
  private updateRef(): void {
    if (this.timer === undefined) return;
    const wanted = this.timers.keepAliveCount > 0;
    if (wanted === this.timerRefed) return;
    this.timerRefed = wanted;
    if (wanted) this.timer.ref();
    else this.timer.unref();
  }

  /**
   * Keeps the process alive while a wait without a deadline is pending (as a pending promise
   * alone would not: Node exits when nothing but promises are left). Returns the release.
   */
  holdOpen(): () => void {
    if (this.holds++ === 0) this.holdHandle = setInterval(noop, 0x7fffffff);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.holds > 0 && --this.holds === 0) {
        clearInterval(this.holdHandle);
        this.holdHandle = undefined;
      }
    };
  }

  // ---- blocked tasks ----------------------------------------------------------------------

  // Each of these counts, then checks the one `watched` flag (see there) before anything else.

  taskBlocked(task: TaskImpl<unknown>, parked: AnyParked): void {
    this.blockedTasks++;
    if (this.watched) this.watchedTaskBlocked(task, parked);
  }

  taskResumed(task: TaskInfo): void {
    this.blockedTasks--;
    if (this.watched) this.watchedTaskResumed(task);
  }

  taskSpawned(task: TaskInfo): void {
    this.liveTasks++;
    if (this.watched) this.watchedTaskSpawned(task);
  }

  taskExited(task: TaskImpl<unknown>): void {
    if (--this.liveTasks === 0 && this.onAllExited !== undefined) this.onAllExited();
    if (this.watched) this.watchedTaskExited(task);
  }

  private watchedTaskBlocked(task: TaskImpl<unknown>, parked: AnyParked): void {
    if (this._trackWaits) task.waitingSince = this.clock.now();
    if (this._instruments !== undefined) callInstruments(this, "taskBlocked", task, describeWait(parked));
    if (this.idleWatchers.length > 0 && this.blockedTasks === this.liveTasks) this.scheduleIdleCheck();
  }

  private watchedTaskResumed(task: TaskInfo): void {
    this.wakeEpoch++;
    if (this._instruments !== undefined) callInstruments(this, "taskResumed", task);
  }

  private watchedTaskSpawned(task: TaskInfo): void {
    this.wakeEpoch++;
    if (this._instruments !== undefined) callInstruments(this, "taskSpawned", task);
  }

  private watchedTaskExited(task: TaskImpl<unknown>): void {
    if (this._instruments !== undefined) {
      const state = task.state as Exclude<typeof task.state, "running">;
      callInstruments(this, "taskExited", task, state === "done" ? { state, value: task.value } : { state, error: task.error });
    }
    if (this.idleWatchers.length > 0 && this.blockedTasks === this.liveTasks) this.scheduleIdleCheck();
  }

  whenAllBlocked(cushionMs: number, callback: () => void, lowPriority = false): () => void {
    const watcher: IdleWatcher = { cushionMs, lowPriority, seq: this.idleSeq++, callback };
    this.idleWatchers.push(watcher);
    this.idleWatchers.sort(compareWatchers);
    this.rewatch();
    this.restartIdleCheck();
    return () => {
      const i = this.idleWatchers.indexOf(watcher);
      if (i < 0) return;
      this.idleWatchers.splice(i, 1);
      this.rewatch();
      this.restartIdleCheck();
    };
  }

  private restartIdleCheck(): void {
    this.idleCheck?.cancel();
    this.idleCheck = undefined;
    if (this.idleWatchers.length > 0 && this.blockedTasks === this.liveTasks) this.scheduleIdleCheck();
  }

  /**
   * Waits the first watcher's cushion in real time; if no task woke meanwhile, the run has
   * been idle that long and the watcher fires. setImmediate for a zero cushion lets every
   * pending microtask run first, so "all blocked" is not a transient state.
   */
  private scheduleIdleCheck(): void {
    if (this.idleCheck !== undefined) return;
    const watcher = this.idleWatchers[0];
    if (watcher === undefined) return;
    // Autojump has nothing to jump to without a deadline: it stays dormant until addTimer()
    // (rescheduling it would spin, one check per cushion, for as long as the run is stuck).
    if (watcher.lowPriority && this.timers.size === 0) return;
    const epoch = this.wakeEpoch;
    const check = () => {
      this.idleCheck = undefined;
      if (this.blockedTasks !== this.liveTasks) return;
      if (epoch !== this.wakeEpoch || this.idleWatchers[0] !== watcher) return this.scheduleIdleCheck();
      this.idleWatchers.shift();
      this.rewatch();
      watcher.callback();
      if (this.blockedTasks === this.liveTasks) this.scheduleIdleCheck();
    };
    if (watcher.cushionMs <= 0) {
      const handle = setImmediate(check);
      this.idleCheck = { cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(check, watcher.cushionMs);
      this.idleCheck = { cancel: () => clearTimeout(handle) };
    }
  }

  /** Called when the run ends: nothing of it may outlive `run()`. */
  close(): void {
    if (this.instruments !== undefined) callInstruments(this, "runFinished");
    // Resources first: closing one may settle waits that would otherwise find no timer queue.
    for (const resource of [...this.resources]) resource.close();
    this.disarm();
    this.timers.clear();
    this.idleCheck?.cancel();
    this.idleCheck = undefined;
    this.idleWatchers.length = 0;
    this.rewatch();
    // A sleepForever() left floating (in a Promise.race) would keep the process alive for ever.
    if (this.holdHandle !== undefined) clearInterval(this.holdHandle);
    this.holdHandle = undefined;
    this.holds = 0;
  }
}

function noop(): void {}

function compareWatchers(a: IdleWatcher, b: IdleWatcher): number {
  if (a.lowPriority !== b.lowPriority) return a.lowPriority ? 1 : -1;
  return a.cushionMs - b.cushionMs || a.seq - b.seq;
}

let defaultRuntime: Runtime | undefined;

/** @internal The runtime of code running outside any `run()`: the real clock, no signal handling. */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= new Runtime(systemClock);
  return defaultRuntime;
}
