/**
 * The one FIFO of parked tasks (Trio's ParkingLot): fairness for every primitive lives here.
 * A cancelled waiter leaves the queue in its abort callback, so it never takes nor loses
 * anything; `wakeFirst` hands a value straight to the first waiter, so a `try…` call right
 * after cannot take it.
 *
 * @module
 */
import { Parked, parkWait, wake, wakeWithError, type AnyParked, type WaitAborter, type WaitLabel, type WaitRegistrar } from "./park.js";
import { currentScope } from "./context.js";
import type { ScopeNode } from "./cancel-scope.js";

/**
 * @internal A wait in a {@link WaitQueue}: a Parked plus the queue's links. Only queued waits
 * carry them (a sleep, a task's join, a socket's receive do not: 24 bytes less each).
 */
export class QueuedWait<T = unknown> extends Parked<T> {
  prevInQueue: AnyQueued | undefined = undefined;
  nextInQueue: AnyQueued | undefined = undefined;
  /** The queue the wait is in, if any. */
  queue: WaitQueue | undefined = undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQueued = QueuedWait<any>;

/** @internal */
export class WaitQueue implements WaitAborter, WaitRegistrar<unknown> {
  private head: AnyQueued | undefined = undefined;
  private tail: AnyQueued | undefined = undefined;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /**
   * Parks the caller at the back of the queue; `data` stays with the waiter for the waker.
   * Cancellation takes the wait out of the queue; a primitive with bookkeeping of its own
   * passes itself as `aborter` instead, and its `abortWait` must then remove the wait too.
   * No closure per wait: queues can be long.
   */
  park<T>(label: WaitLabel, data?: unknown, scope: ScopeNode | undefined = currentScope(), aborter?: WaitAborter): Promise<T> {
    const parked = new QueuedWait<T>(scope, label);
    parked.data = data;
    parked.abort = aborter; // registerWait keeps it; by default the queue itself aborts
    return parkWait(parked, this);
  }

  /** @internal Joins the queue at the back (the park of {@link WaitQueue.park}). */
  registerWait(parked: AnyParked): void {
    // Precondition: every wait registered here was made by park() above, a QueuedWait.
    const aborter = parked.abort;
    this.append(parked);
    if (aborter !== undefined) parked.abort = aborter;
  }

  /** The first waiter, still queued. */
  first(): AnyQueued | undefined {
    return this.head;
  }

  /** The last waiter, still queued. */
  last(): AnyQueued | undefined {
    return this.tail;
  }

  /** Removes the first waiter and ends its wait with `value`; returns it, or undefined if none. */
  wakeFirst<T>(value: T): AnyQueued | undefined {
    const parked = this.head;
    if (parked === undefined) return undefined;
    this.remove(parked);
    wake(parked, value);
    return parked;
  }

  /** Wakes up to `n` waiters in order with `value`; returns how many. */
  wakeMany<T>(n: number, value: T): number {
    let woken = 0;
    while (woken < n && this.wakeFirst(value) !== undefined) woken++;
    return woken;
  }

  /** Ends every wait by rejecting it with `error` (a broken lock, a closed channel). */
  breakAll(error: () => unknown): void {
    for (let parked = this.head; parked !== undefined; parked = this.head) {
      this.remove(parked);
      wakeWithError(parked, error());
    }
  }

  /** Moves the first waiter to the back of `other` without waking it (Condition → Lock). */
  moveFirstTo(other: WaitQueue): AnyQueued | undefined {
    const parked = this.head;
    if (parked === undefined) return undefined;
    this.remove(parked);
    other.append(parked);
    return parked;
  }

  /** Takes `parked` out of this queue (no wake-up). */
  remove(wait: AnyParked): void {
    const parked = wait as AnyQueued; // a wait not made by park() has no `queue`: not ours
    if (parked.queue !== this) return;
    const prev = parked.prevInQueue;
    const next = parked.nextInQueue;
    if (prev !== undefined) prev.nextInQueue = next;
    else this.head = next;
    if (next !== undefined) next.prevInQueue = prev;
    else this.tail = prev;
    parked.prevInQueue = parked.nextInQueue = undefined;
    parked.queue = undefined;
    this.count--;
  }

  /** @internal Adds an already-parked wait at the back; its abort leaves whichever queue it is in. */
  append(wait: AnyParked): void {
    const parked = wait as AnyQueued; // precondition: a QueuedWait (made by park() of a queue)
    parked.queue = this;
    parked.prevInQueue = this.tail;
    parked.nextInQueue = undefined;
    if (this.tail !== undefined) this.tail.nextInQueue = parked;
    else this.head = parked;
    this.tail = parked;
    this.count++;
    parked.abort = this;
  }

  /** @internal The abort of every wait in a queue: leave the queue it is in now (see park.ts). */
  abortWait(parked: AnyParked): boolean {
    (parked as AnyQueued).queue?.remove(parked);
    return true;
  }

  *[Symbol.iterator](): IterableIterator<AnyQueued> {
    for (let p = this.head; p !== undefined; p = p.nextInQueue) yield p;
  }
}
