/**
 * The pool's FIFO of calls waiting for a worker: an intrusive doubly linked list through the
 * calls' own `prev`/`next` fields, so a cancelled waiter leaves it in O(1) and a call taken
 * back from a worker returns to its front.
 *
 * @module
 */
import type { PoolCall } from "./pool-call.js";

/** @internal */
export class CallQueue {
  head: PoolCall | undefined = undefined;
  tail: PoolCall | undefined = undefined;
  length = 0;

  push(call: PoolCall, atFront = false): void {
    call.queued = true;
    if (atFront) {
      call.next = this.head;
      if (this.head === undefined) this.tail = call;
      else this.head.prev = call;
      this.head = call;
    } else {
      call.prev = this.tail;
      if (this.tail === undefined) this.head = call;
      else this.tail.next = call;
      this.tail = call;
    }
    this.length++;
  }

  /** Takes `call` out wherever it is; false if it was not queued. */
  remove(call: PoolCall): boolean {
    if (!call.queued) return false;
    call.queued = false;
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = undefined;
    this.length--;
    return true;
  }

  shift(): PoolCall | undefined {
    const call = this.head;
    if (call === undefined) return undefined;
    this.head = call.next;
    if (this.head === undefined) this.tail = undefined;
    else this.head.prev = undefined;
    call.next = undefined;
    call.queued = false;
    this.length--;
    return call;
  }
}
