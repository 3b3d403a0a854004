/**
 * One `pool.run()` call, from the caller's side: it waits in the pool's FIFO queue, then for
 * its worker, with one park whose abort callback applies the call's cancellation mode; and it
 * runs the worker's `callMain` requests inside the calling task (its scopes, its deadline, its
 * `currentTask()`), so that the caller cannot return before they have ended.
 *
 * @module
 */
import type { TransferListItem } from "node:worker_threads";
import {
  CancelScope,
  ClosedResourceError,
  RuntimeError,
  currentScope,
  isCancelled,
  park,
  wake,
  type AnyParked,
  type Parked,
  type WaitAborter,
} from "../core/index.js";
import { toWire } from "./error-transfer.js";
import { CANCEL_SOURCES, REPLY_CANCELLED, REPLY_ERROR, REPLY_VALUE } from "./protocol.js";
import type { WorkerHandle } from "./worker-handle.js";

/** How a running call reacts to its caller's cancellation (see `RunOptions.cancel`). */
export type CancelMode = "cooperative" | "terminate" | "abandon";

/** @internal How a call ended: a value, an error, its caller's cancellation (the worker's call
 * ended or the worker is gone), or the pool's close. */
export const Outcome = { Value: 0, Error: 1, Cancelled: 2, Closed: 3 } as const;
/** @internal */
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** @internal What the call needs from its pool. */
export interface CallHost {
  readonly handlers: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly poolLabel: string;
  /** Calls ended by cancellation (statistics). */
  cancelled: number;
  /** The call left the queue or its worker: update the counts, free or stop the worker. */
  dequeue(call: PoolCall): void;
  /** Takes back a call its worker has not started; true if done (counted as cancelled). */
  cancelUnstarted(call: PoolCall): boolean;
  abandon(call: PoolCall): void;
  /** True if the worker has ended `call` (its outcome is on its way). */
  hasEnded(call: PoolCall): boolean;
  requestCancel(call: PoolCall, source: number): void;
  terminateFor(call: PoolCall): void;
  reply(worker: WorkerHandle, requestId: number, kind: number, payload: unknown, sync: boolean): void;
}

/** @internal */
export class PoolCall implements WaitAborter {
  /** Links of the pool's FIFO queue. */
  prev: PoolCall | undefined = undefined;
  next: PoolCall | undefined = undefined;
  queued = false;
  worker: WorkerHandle | undefined = undefined;
  id = 0;
  parked: Parked<void> | undefined = undefined;
  done = false;
  outcome: Outcome = Outcome.Value;
  value: unknown = undefined;
  /** The caller asked to stop the worker's call (cooperatively or by terminating it). */
  cancelling = false;
  /** The pool's close asked to stop it. */
  closing = false;
  abandoned = false;
  graceTimer: NodeJS.Timeout | undefined = undefined;
  /** `callMain` requests not yet started, and the scopes of those running. */
  inbox: (readonly unknown[])[] | undefined = undefined;
  handlers: Map<number, CancelScope> | undefined = undefined;
  liveHandlers = 0;

  constructor(
    readonly host: CallHost,
    readonly name: string,
    readonly args: readonly unknown[],
    readonly transfer: readonly TransferListItem[] | undefined,
    readonly mode: CancelMode,
    readonly graceMs: number,
    readonly label: string,
  ) {}

  /** Ends the call (first outcome wins) and wakes the caller. */
  finish(outcome: Outcome, value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.outcome = outcome;
    this.value = value;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.notify();
  }

  /** A `callMain` request from the worker: started by the caller's loop. */
  request(message: readonly unknown[]): void {
    (this.inbox ??= []).push(message);
    this.notify();
  }

  /** Cancels the `callMain` handlers running for this call (each settles and replies to the worker). */
  cancelHandlers(reason: string): void {
    if (this.handlers !== undefined) for (const scope of this.handlers.values()) scope.cancel(reason);
  }

  notify(): void {
    const parked = this.parked;
    if (parked === undefined) return;
    this.parked = undefined;
    wake(parked, undefined);
  }

  /** The abort callback of the caller's wait: applies the cancellation mode. */
  abortWait(parked: AnyParked): boolean {
    if (this.done) return false; // only handlers are left, and they are cancelled with us
    if (this.queued) {
      this.host.dequeue(this);
      this.done = true;
      this.parked = undefined;
      return true;
    }
    if (this.host.cancelUnstarted(this)) {
      this.done = true;
      this.parked = undefined;
      return true;
    }
    // Ended in the worker, its outcome on its way (this thread was busy): nothing left to stop,
    // in any mode; the caller gets that outcome.
    if (this.host.hasEnded(this)) {
      this.cancelling = true;
      return false;
    }
    const source = CANCEL_SOURCES.indexOf(parked.scope?.cancelledError(false).source ?? "explicit");
    if (this.mode === "abandon") {
      this.host.abandon(this);
      if (this.liveHandlers > 0) return false; // they are cancelled too: wait for them
      this.parked = undefined;
      return true;
    }
    this.cancelling = true;
    if (this.mode === "terminate") this.host.terminateFor(this);
    else this.host.requestCancel(this, source);
    return false;
  }
}

let registering: PoolCall | undefined;
function register(parked: Parked<void>): void {
  const call = registering!;
  registering = undefined;
  call.parked = parked;
  parked.abort = call.cancelling || call.done ? undefined : call;
}

/**
 * @internal The caller's side of a call once submitted: waits for the worker, runs `callMain`
 * handlers as they come, returns the result or throws. `submit` queues or dispatches the call.
 */
export async function awaitCall(call: PoolCall, submit: (call: PoolCall) => void): Promise<unknown> {
  const scope = currentScope();
  if (scope !== undefined && scope.cause !== null) {
    call.host.cancelled++; // every call is counted once: completed, failed or cancelled
    throw scope.raiseCancelled();
  }
  submit(call);
  for (;;) {
    const inbox = call.inbox;
    if (inbox !== undefined && inbox.length > 0) for (const message of inbox.splice(0)) startHandler(call, message);
    if (call.done) {
      if (call.liveHandlers === 0) break;
      // The worker's call ended with a request still running (a callMain nobody awaited).
      call.cancelHandlers("the worker call that made this request has ended");
    }
    registering = call;
    await park<void>(call.label, register, !call.cancelling && !call.done, scope);
  }
  switch (call.outcome) {
    case Outcome.Value:
      return call.value;
    case Outcome.Error:
      throw call.value;
    case Outcome.Closed:
      throw closedError(call);
    default:
      if (scope !== undefined && scope.cause !== null) throw scope.raiseCancelled();
      if (call.closing) throw closedError(call);
      throw new RuntimeError(`${call.label}: the call was cancelled inside the worker although its caller was not`);
  }
}

function closedError(call: PoolCall): ClosedResourceError {
  return new ClosedResourceError(
    `${call.label}: the pool ${call.host.poolLabel} was closed while this call was running; close the pool only after its calls have ended`,
  );
}

/** Runs a `callMain` handler in the caller's context, in its own scope (so the worker can cancel it alone). */
function startHandler(call: PoolCall, message: readonly unknown[]): void {
  const worker = call.worker!;
  const requestId = message[2] as number;
  const name = message[3] as string;
  const args = message[4] as unknown[];
  const sync = message[5] === true;
  const host = call.host;
  const handler = Object.hasOwn(host.handlers, name) ? host.handlers[name] : undefined;
  if (typeof handler !== "function") {
    const known = Object.keys(host.handlers);
    const err = new TypeError(
      `callMain(${JSON.stringify(name)}): the pool ${host.poolLabel} has no handler named ${JSON.stringify(name)}; ` +
        (known.length === 0 ? "pass one in new WorkerPool(url, { handlers: { … } })" : `its handlers are ${known.map((k) => JSON.stringify(k)).join(", ")}`),
    );
    host.reply(worker, requestId, REPLY_ERROR, toWire(err), sync);
    return;
  }
  const scope = new CancelScope({ name: `callMain(${JSON.stringify(name)})` });
  (call.handlers ??= new Map()).set(requestId, scope);
  call.liveHandlers++;
  const settle = (kind: number, payload: unknown) => {
    call.handlers!.delete(requestId);
    host.reply(worker, requestId, kind, payload, sync); // (a worker blocked in callMainSync waits for this reply, also for an abandoned call)
    if (--call.liveHandlers === 0) call.notify();
  };
  scope.run(() => (handler as (...a: unknown[]) => unknown)(...args)).then(
    (value) => (scope.cancelledCaught ? settle(REPLY_CANCELLED, undefined) : settle(REPLY_VALUE, value)),
    (err: unknown) => (isCancelled(err) ? settle(REPLY_CANCELLED, undefined) : settle(REPLY_ERROR, toWire(err))),
  );
}
