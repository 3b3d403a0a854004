/**
 * The machinery behind `WorkerPool`: starts workers lazily up to `size`, hands each call to an
 * idle worker or queues it (FIFO), routes the workers' messages to their calls, replaces
 * workers that crash or are terminated, retires idle ones, and closes everything.
 *
 * Invariants: a worker runs at most one call (`handle.call`), also an abandoned one; a call is
 * in the queue (`queued`) or on a worker or done; `live` counts workers that take calls.
 *
 * @module
 */
import type { ResourceLimits, TransferListItem } from "node:worker_threads";
import {
  BrokenResourceError,
  ClosedResourceError,
  park,
  schedulePoint,
  trackResource,
  wake,
  type AnyParked,
  type TrackedResource,
} from "../core/index.js";
import { fromWire, toWire, type WireError } from "./error-transfer.js";
import { CallQueue } from "./call-queue.js";
import { Outcome, PoolCall, awaitCall, type CallHost, type CancelMode } from "./pool-call.js";
import {
  CALL,
  CALL_MAIN,
  CANCEL,
  CANCEL_MAIN,
  CANCELLED,
  CLOSE,
  ERROR,
  LOAD_ERROR,
  REPLY,
  RESULT,
  SLOT_CANCEL_ID,
  SLOT_CANCEL_SOURCE,
  CALL_SLOTS,
  SLOT_CALLS,
  SLOT_ENDED,
  SLOT_SYNC,
  endedBy,
  nextCallId,
} from "./protocol.js";
import { WorkerHandle, type WorkerEvents } from "./worker-handle.js";

/**
 * How many calls a busy worker may have waiting behind its current one. A worker that finishes
 * a call starts the next without waiting for the main thread (whose event loop may be busy);
 * a worker that gets free takes them back (see `free`), so a call does not wait behind a long one.
 */
const SEND_AHEAD = 8;
/** Calls shorter than this on average (ms, from one result to the next on a worker) are "short". */
const SHORT_CALL_MS = 1;

/** @internal The validated options of a pool. */
export interface PoolSettings {
  readonly moduleUrl: string;
  readonly size: number;
  readonly handlers: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly idleTimeoutMs: number;
  readonly graceMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly name: string | undefined;
}

/** @internal */
export interface PoolCounts {
  size: number;
  workers: number;
  busy: number;
  idle: number;
  waiting: number;
  completed: number;
  failed: number;
  cancelled: number;
  replaced: number;
}

/** @internal */
export class PoolEngine implements CallHost, WorkerEvents {
  readonly workers = new Set<WorkerHandle>();
  readonly handlers: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly poolLabel: string;
  /** Workers that take calls (not retiring, not terminated). */
  live = 0;
  busy = 0;
  /** Idle workers, most recently used last (reused first; the oldest retire first). */
  idle: WorkerHandle[] = [];
  readonly queue = new CallQueue();
  /** Moving average of how long a call takes on a worker, in ms (from its start, or the previous result). */
  averageMs = Infinity;
  /** Calls sent ahead to a worker, not started yet (counted as waiting). */
  prefetched = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  replaced = 0;
  closed = false;
  closers: AnyParked[] = [];
  idleTimer: NodeJS.Timeout | undefined = undefined;
  record: TrackedResource | undefined;
  readonly labels = new Map<string, string>();

  constructor(
    owner: object,
    readonly settings: PoolSettings,
  ) {
    this.handlers = settings.handlers;
    this.poolLabel = settings.name === undefined ? settings.moduleUrl : `"${settings.name}" (${settings.moduleUrl})`;
    this.record = trackResource(owner, "worker pool", settings.name ?? settings.moduleUrl, forceCloser(this));
  }

  /** `pool.run()` once its arguments are checked. */
  run(name: string, args: readonly unknown[], transfer: readonly TransferListItem[] | undefined, mode: CancelMode, graceMs: number): Promise<unknown> {
    let label = this.labels.get(name);
    if (label === undefined) {
      label = `pool.run(${JSON.stringify(name)})`;
      if (this.labels.size < 1000) this.labels.set(name, label);
    }
    return awaitCall(new PoolCall(this, name, args, transfer, mode, graceMs, label), this.submit);
  }

  readonly submit = (call: PoolCall): void => {
    if (this.closed) {
      this.failed++;
      throw new ClosedResourceError(`${call.label}: the pool ${this.poolLabel} is closed; open a new WorkerPool, or close it only after its last call`);
    }
    const worker = this.idle.pop() ?? (this.live < this.settings.size ? this.startWorker() : undefined);
    if (worker !== undefined) return this.assign(worker, call);
    this.queue.push(call);
    this.prefetch();
  };

  // ---- queue ----------------------------------------------------------------------------

  /** Takes `call` out of the queue (it was cancelled while waiting). */
  dequeue(call: PoolCall): void {
    if (this.queue.remove(call)) this.cancelled++;
  }

  // ---- workers --------------------------------------------------------------------------

  private startWorker(): WorkerHandle {
    const s = this.settings;
    const worker = new WorkerHandle(this, s.moduleUrl, s.resourceLimits, s.name);
    this.workers.add(worker);
    this.live++;
    return worker;
  }

  /** Posts `call` to `worker`; on a clone error fails the call and returns false. */
  private post(worker: WorkerHandle, call: PoolCall): boolean {
    const id = worker.nextId;
    worker.nextId = nextCallId(id);
    Atomics.store(worker.control, SLOT_CALLS + (id % CALL_SLOTS), id);
    try {
      worker.worker.postMessage([CALL, id, call.name, call.args], call.transfer);
    } catch (err) {
      this.failed++;
      call.finish(Outcome.Error, badArguments(call.label, err));
      return false;
    }
    call.id = id;
    call.worker = worker;
    return true;
  }

  /** Gives a free `worker` the call, or the next queued one that can be sent; else frees it. */
  private assign(worker: WorkerHandle, first: PoolCall | undefined): void {
    for (let call = first; call !== undefined; call = this.queue.shift()) {
      if (!this.post(worker, call)) continue;
      if (worker.idle) {
        worker.idle = false;
        worker.worker.ref();
      }
      worker.call = call;
      worker.lastEnd = performance.now();
      this.busy++;
      this.fill(worker);
      return;
    }
    this.free(worker);
  }

  /** Sends `worker` queued calls ahead of time, as many as it may take. */
  private fill(worker: WorkerHandle): void {
    while (this.queue.head !== undefined && this.sendAhead(worker));
  }

  /** Sends `worker` one queued call ahead, if it may take one; false if not. */
  private sendAhead(worker: WorkerHandle): boolean {
    const current = worker.call;
    if (current === undefined || !worker.live || this.closed) return false;
    if (current.abandoned || current.cancelling || worker.withdrawnInFlight >= CALL_SLOTS / 4) return false;
    // Short calls: keep a few ready in the worker. Long ones: one (message latency is nothing next to them).
    if (worker.ahead.length >= (this.averageMs < SHORT_CALL_MS ? SEND_AHEAD : 1)) return false;
    for (let call = this.queue.shift(); call !== undefined; call = this.queue.shift()) {
      if (!this.post(worker, call)) continue;
      worker.ahead.push(call);
      this.prefetched++;
      return true;
    }
    return false;
  }

  /** Sends queued calls ahead to the workers that may take them, one each in turn (FIFO across workers). */
  private prefetch(): void {
    for (let sent = true; sent; ) {
      sent = false;
      for (const worker of this.workers) {
        if (this.queue.head === undefined) return;
        if (this.sendAhead(worker)) sent = true;
      }
    }
  }

  /** A worker has no call and the queue is empty: take a call sent ahead to a busier worker, or idle. */
  private free(worker: WorkerHandle): void {
    if (!this.closed) {
      for (const other of this.workers) {
        const ahead = other.ahead[0];
        if (ahead !== undefined && this.withdraw(ahead)) return this.assign(worker, ahead);
      }
    }
    this.makeIdle(worker);
  }

  /**
   * Takes back a call sent to a worker that has not started it (protocol.ts): true if it was
   * withdrawn (the worker will skip it), false if it has started.
   */
  withdraw(call: PoolCall): boolean {
    const worker = call.worker;
    if (worker === undefined || !worker.holds(call) || !takeBack(worker, call)) return false;
    call.worker = undefined;
    if (worker.call !== call) {
      worker.ahead.splice(worker.ahead.indexOf(call), 1);
      this.prefetched--;
      return true;
    }
    // It was the current call, not started: the calls sent after it go back to the queue's
    // front, in order, except one the worker has started meanwhile, which becomes current.
    const ahead = worker.ahead;
    worker.ahead = [];
    worker.call = undefined;
    this.prefetched -= ahead.length;
    const back: PoolCall[] = [];
    for (const c of ahead) {
      if (worker.call !== undefined) {
        worker.ahead.push(c);
        this.prefetched++;
      } else if (takeBack(worker, c)) {
        c.worker = undefined;
        back.push(c);
      } else worker.call = c;
    }
    for (let i = back.length - 1; i >= 0; i--) this.queue.push(back[i]!, true);
    if (worker.call === undefined) {
      this.busy--;
      if (worker.live) this.assign(worker, this.queue.shift());
    }
    return true;
  }

  private makeIdle(worker: WorkerHandle): void {
    if (this.closed) return this.retire(worker);
    worker.idle = true;
    worker.idleSince = performance.now();
    worker.worker.unref();
    this.idle.push(worker);
    if (this.idleTimer === undefined && this.settings.idleTimeoutMs !== Infinity) {
      this.idleTimer = setTimeout(this.retireIdle, this.settings.idleTimeoutMs).unref();
    }
  }

  private removeIdle(worker: WorkerHandle): void {
    if (!worker.idle) return;
    worker.idle = false;
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
  }

  private readonly retireIdle = (): void => {
    this.idleTimer = undefined;
    const limit = this.settings.idleTimeoutMs;
    const now = performance.now();
    let next = Infinity;
    for (const worker of [...this.idle]) {
      const left = worker.idleSince + limit - now;
      if (left <= 1) this.retire(worker);
      else next = Math.min(next, left);
    }
    if (next !== Infinity) this.idleTimer = setTimeout(this.retireIdle, next).unref();
  };

  /** Asks an idle worker to exit; terminates it if it has not after the grace period. */
  private retire(worker: WorkerHandle): void {
    if (!worker.live) return;
    this.removeIdle(worker);
    worker.live = false;
    this.live--;
    worker.worker.postMessage([CLOSE]);
    this.armExitTimer(worker, this.settings.graceMs);
  }

  private armExitTimer(worker: WorkerHandle, ms: number): void {
    if (ms === Infinity || worker.exitTimer !== undefined) return;
    worker.exitTimer = setTimeout(() => worker.terminate(), ms).unref();
  }

  /** Terminates `worker` now (it takes no more calls); the promise settles once it is gone. */
  terminateWorker(worker: WorkerHandle): Promise<void> {
    return this.terminate(worker);
  }

  private terminate(worker: WorkerHandle): Promise<void> {
    if (worker.live) {
      this.removeIdle(worker);
      this.live--;
    }
    const gone = worker.terminate();
    this.pump();
    return gone;
  }

  /** Starts queued calls on idle or new workers while there is room, then sends calls ahead. */
  private pump(): void {
    while (this.queue.head !== undefined && !this.closed && (this.idle.length > 0 || this.live < this.settings.size)) {
      this.assign(this.idle.pop() ?? this.startWorker(), this.queue.shift());
    }
    if (this.queue.head !== undefined) this.prefetch();
  }

  // ---- cancellation (CallHost) ----------------------------------------------------------

  abandon(call: PoolCall): void {
    call.abandoned = true;
    call.finish(Outcome.Cancelled, undefined);
    this.cancelled++;
    // The calls sent after it would wait for the abandoned one: give them to other workers.
    const worker = call.worker;
    if (worker !== undefined && worker.ahead.length > 0) {
      const back = [...worker.ahead].filter((c) => this.withdraw(c));
      for (let i = back.length - 1; i >= 0; i--) this.queue.push(back[i]!, true);
      this.pump();
    }
  }

  hasEnded(call: PoolCall): boolean {
    const worker = call.worker;
    return worker !== undefined && worker.holds(call) && hasEnded(worker, call);
  }

  cancelUnstarted(call: PoolCall): boolean {
    if (!this.withdraw(call)) return false;
    this.cancelled++;
    return true;
  }

  requestCancel(call: PoolCall, source: number, graceMs = call.graceMs): void {
    const worker = call.worker!;
    // A call that has ended needs no flag, and setting it would replace the flag of the call the
    // worker started after it (the worker ends `call` before it starts the next).
    if (!hasEnded(worker, call)) {
      Atomics.store(worker.control, SLOT_CANCEL_SOURCE, source);
      Atomics.store(worker.control, SLOT_CANCEL_ID, call.id);
    }
    worker.worker.postMessage([CANCEL, call.id, source]);
    if (graceMs === 0) return this.terminateFor(call);
    this.armGrace(call, graceMs);
  }

  /** Terminates `call`'s worker in `graceMs` unless the call has ended (or a grace period is running already). */
  private armGrace(call: PoolCall, graceMs: number): void {
    if (graceMs !== Infinity && call.graceTimer === undefined && call.mode !== "terminate") {
      call.graceTimer = setTimeout(() => this.terminateFor(call), graceMs).unref();
    }
  }

  /**
   * Terminates the worker running `call`, unless the worker has ended it already (its result on
   * its way to this thread, which has not read it yet): the worker says so in `SLOT_ENDED`, and
   * then it is left alone. The worker may also have ended `call` and started a call sent after
   * it: terminating then would break that other call. So the calls sent after `call` are
   * withdrawn first, latest first (the worker starts them in order); if one of them has started,
   * `call` has ended and the worker is left alone. Else the worker can run nothing but `call`
   * (or nothing at all, if it has ended it meanwhile), and the withdrawn calls go back to the
   * queue's front.
   */
  terminateFor(call: PoolCall): void {
    const worker = call.worker;
    if (worker === undefined || !worker.holds(call) || hasEnded(worker, call)) return;
    const after = worker.ahead.slice(worker.call === call ? 0 : worker.ahead.indexOf(call) + 1);
    const back: PoolCall[] = [];
    for (let i = after.length - 1; i >= 0; i--) {
      const c = after[i]!;
      if (this.withdraw(c)) back.push(c);
      else break; // started: so has every call before it ended
    }
    for (const c of back) this.queue.push(c, true); // latest first: they end up in order
    if (back.length === after.length && !hasEnded(worker, call)) this.terminate(worker);
    else this.pump();
  }

  reply(worker: WorkerHandle, requestId: number, kind: number, payload: unknown, sync: boolean): void {
    if (!this.workers.has(worker)) return;
    try {
      worker.worker.postMessage([REPLY, requestId, kind, payload]);
    } catch (err) {
      worker.worker.postMessage([REPLY, requestId, 1, toWire(new TypeError(`callMain(): the handler's result cannot be sent to the worker thread: ${(err as Error).message}`, { cause: err }))]);
    }
    if (sync) {
      Atomics.store(worker.control, SLOT_SYNC, 1);
      Atomics.notify(worker.control, SLOT_SYNC);
    }
  }

  // ---- worker events (WorkerEvents) -----------------------------------------------------

  onMessage(worker: WorkerHandle, message: readonly unknown[]): void {
    worker.answered = true;
    const tag = message[0];
    if (tag === RESULT || tag === ERROR || tag === CANCELLED) {
      const call = worker.call;
      if (call === undefined || call.id !== message[1]) {
        if (tag === CANCELLED) worker.withdrawnInFlight--; // a withdrawn call, skipped
        return;
      }
      // Its flag goes with it: ids wrap (protocol.ts), and a later call may get the same id.
      if (Atomics.load(worker.control, SLOT_CANCEL_ID) === call.id) Atomics.store(worker.control, SLOT_CANCEL_ID, 0);
      const now = performance.now();
      const took = now - worker.lastEnd;
      worker.lastEnd = now;
      this.averageMs = this.averageMs === Infinity ? took : this.averageMs * 0.9 + took * 0.1;
      worker.call = worker.ahead.shift();
      if (worker.call !== undefined) this.prefetched--;
      else this.busy--;
      if (!call.abandoned) {
        if (tag === RESULT) {
          this.completed++;
          call.finish(Outcome.Value, message[2]);
        } else if (tag === ERROR) {
          this.failed++;
          call.finish(Outcome.Error, fromWire(message[2] as WireError));
        } else {
          this.cancelled++;
          call.finish(call.closing && !call.cancelling ? Outcome.Closed : Outcome.Cancelled, undefined);
        }
      } else if (call.graceTimer !== undefined) clearTimeout(call.graceTimer);
      if (!worker.live) return;
      if (worker.call !== undefined) this.fill(worker);
      else this.assign(worker, this.queue.shift());
      return;
    }
    const call = worker.find(message[1]);
    if (tag === CALL_MAIN) {
      if (call !== undefined && !call.done) call.request(message);
      else {
        const err = new BrokenResourceError(
          `callMain(${JSON.stringify(message[3])}): the task that called pool.run() no longer waits for this call (it was cancelled with cancel: "abandon", or the pool is closing); nothing in the main thread runs for it`,
        );
        this.reply(worker, message[2] as number, 1, toWire(err), message[5] === true);
      }
    } else if (tag === CANCEL_MAIN) {
      call?.handlers?.get(message[2] as number)?.cancel("cancelled in the worker");
    } else if (tag === LOAD_ERROR) {
      const cause = fromWire(message[1] as WireError);
      worker.loadError = new Error(
        `WorkerPool: the module ${this.settings.moduleUrl} could not be loaded in a worker thread: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
      this.terminate(worker);
    }
  }

  onExit(worker: WorkerHandle, code: number): void {
    // A worker that died on its own before it ever answered (out of memory while starting —
    // `resourceLimits` too small —, `process.exit()` or a crash in the module's top level)
    // would die again in its replacement: fail its first call instead of retrying it for ever.
    const diedStarting = worker.live && !worker.answered && (worker.lastError !== undefined || code !== 0);
    this.workers.delete(worker);
    if (worker.live) {
      worker.live = false;
      this.live--;
    }
    this.removeIdle(worker);
    if (worker.exitTimer !== undefined) clearTimeout(worker.exitTimer);
    const { call, ahead } = worker;
    worker.call = undefined;
    worker.ahead = [];
    this.prefetched -= ahead.length;
    if (call !== undefined) this.busy--;
    // A call the worker never started goes back to the front of the queue, in order (so the
    // latest sent goes back first).
    for (const c of [...ahead.reverse(), call]) {
      if (c === undefined) continue;
      if (c.graceTimer !== undefined) clearTimeout(c.graceTimer); // (an abandoned call's, armed by close())
      if (c.done) continue;
      // (Except the first call of a worker whose module did not load: that is its error.)
      if (takeBack(worker, c) && !(c === call && (worker.loadError !== undefined || diedStarting))) {
        c.worker = undefined;
        this.queue.push(c, true);
        continue;
      }
      this.replaced++;
      if (c.cancelling) {
        this.cancelled++;
        c.finish(Outcome.Cancelled, undefined);
      } else if (c.closing && worker.terminated) {
        // Terminated by close() (a worker that crashed on its own meanwhile is the call's failure).
        this.cancelled++;
        c.finish(Outcome.Closed, undefined);
      } else {
        this.failed++;
        c.finish(Outcome.Error, worker.loadError ?? crashError(c.label, code, worker.lastError));
      }
    }
    if (call?.abandoned === true) this.replaced++;
    if (this.closed) {
      for (let c = this.queue.shift(); c !== undefined; c = this.queue.shift()) {
        this.cancelled++;
        c.finish(Outcome.Closed, undefined);
      }
    }
    this.pump();
    if (this.workers.size === 0 && this.closed) {
      for (const closer of this.closers.splice(0)) wake(closer, undefined);
    }
  }

  // ---- close ----------------------------------------------------------------------------

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      for (let call = this.queue.shift(); call !== undefined; call = this.queue.shift()) {
        this.cancelled++;
        call.finish(Outcome.Closed, undefined);
      }
      for (const worker of [...this.workers]) {
        worker.worker.ref(); // close() waits for it: keep the process alive meanwhile
        const running = this.takeBackForClose(worker);
        // The running call gets its grace period; one without (graceMs: Infinity) gets the pool's.
        const graceMs = running === undefined || running.graceMs === Infinity ? this.settings.graceMs : running.graceMs;
        if (running === undefined) this.retire(worker);
        else if (running.cancelling) this.armGrace(running, graceMs); // its caller's cancellation is on its way
        else if (running.mode === "terminate") this.terminateFor(running);
        else {
          this.requestCancel(running, 0, graceMs);
          // A worker blocked in callMainSync reads its cancellation only once the handler has
          // settled: cancel the call's handlers here, as the worker would if it could.
          running.cancelHandlers("the pool is closing");
        }
      }
    }
    if (this.workers.size > 0) {
      await park<void>(
        "WorkerPool.close",
        (parked) => {
          this.closers.push(parked);
          // Cancelled while closing: no more grace, terminate what is left (and still wait for it).
          parked.abort = () => {
            for (const worker of this.workers) this.terminate(worker);
            return false;
          };
        },
        false,
      );
    } else await schedulePoint();
    this.record?.untrack();
    this.record = undefined;
  }

  /**
   * close(): takes back the calls `worker` has not started (they fail with ClosedResourceError)
   * and returns the one it runs, if any. The worker starts its calls in order, so the calls sent
   * to it are taken back latest first until one has started: that one runs (or has just ended),
   * and every call before it has ended, its result on its way. Each call left on the worker is
   * marked closing, so that it ends with ClosedResourceError if it is stopped (not
   * BrokenResourceError), and with its own outcome if it ends first.
   */
  private takeBackForClose(worker: WorkerHandle): PoolCall | undefined {
    let running: PoolCall | undefined;
    for (let i = worker.ahead.length - 1; i >= 0 && running === undefined; i--) {
      const call = worker.ahead[i]!;
      if (this.withdraw(call)) this.endClosed(call);
      else running = call;
    }
    const current = worker.call;
    if (running === undefined && current !== undefined) {
      if (this.withdraw(current)) this.endClosed(current);
      else running = current;
    }
    if (running === undefined) return undefined;
    if (worker.call !== undefined) worker.call.closing = true;
    for (const call of worker.ahead) call.closing = true;
    return running;
  }

  private endClosed(call: PoolCall): void {
    if (call.done) return;
    this.cancelled++;
    call.finish(Outcome.Closed, undefined);
  }

  /** Statistics of the pool, as `pool.statistics()` returns them. */
  counts(): PoolCounts {
    return {
      size: this.settings.size,
      workers: this.workers.size,
      busy: this.busy,
      idle: this.idle.length,
      waiting: this.queue.length + this.prefetched,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      replaced: this.replaced,
    };
  }
}

/** run() ended with the pool open (or its owner was collected): terminate every worker now. */
function forceCloser(engine: PoolEngine): () => Promise<unknown> {
  return () => {
    engine.closed = true;
    if (engine.idleTimer !== undefined) clearTimeout(engine.idleTimer);
    const gone: Promise<void>[] = [];
    for (const worker of engine.workers) {
      worker.worker.ref();
      if (worker.exitTimer !== undefined) clearTimeout(worker.exitTimer);
      if (worker.call?.graceTimer !== undefined) clearTimeout(worker.call.graceTimer);
      gone.push(engine.terminateWorker(worker));
    }
    return Promise.all(gone); // run() waits for the threads to be gone before it returns
  };
}

/** True if `worker` has ended `call` (its outcome is posted or about to be; protocol.ts). */
function hasEnded(worker: WorkerHandle, call: PoolCall): boolean {
  return endedBy(Atomics.load(worker.control, SLOT_ENDED), call.id);
}

/** Withdraws `call` if `worker` has not started it (protocol.ts); true if it was withdrawn. */
function takeBack(worker: WorkerHandle, call: PoolCall): boolean {
  const slot = SLOT_CALLS + (call.id % CALL_SLOTS);
  if (Atomics.compareExchange(worker.control, slot, call.id, 0) !== call.id) return false;
  worker.withdrawnInFlight++;
  return true;
}

function badArguments(label: string, err: unknown): TypeError {
  const message = err instanceof Error ? err.message : String(err);
  return new TypeError(
    `${label}: \`args\` cannot be sent to a worker thread (${message}); pass structured-clonable values (plain data, typed arrays, Map, Set, Date…), not functions, symbols or objects with private state`,
    { cause: err },
  );
}

function crashError(label: string, code: number, lastError: unknown): BrokenResourceError {
  const outOfMemory = (lastError as { code?: unknown } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
  const what = outOfMemory
    ? "ran out of memory (its resourceLimits were exceeded)"
    : lastError !== undefined
      ? `threw an uncaught error (${lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError)})`
      : `exited with code ${code}`;
  const err = new BrokenResourceError(`${label}: the worker thread running this call ${what}; the pool replaces the worker and other calls go on`, {
    cause: lastError,
  });
  Object.defineProperty(err, "exitCode", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}
