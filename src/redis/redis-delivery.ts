/**
 * One delivery of one entry of a Redis channel: the envelope user code sees. Made straight
 * from the reply that read the entry (one object per value read), it waits in the receiver's
 * buffer until handed out; then it is in flight (linked in its receiver's list) until `ack()`
 * or a hand-back. A value handed back is delivered again in a new envelope.
 *
 * @module
 */
import { RuntimeError, completeCheckpoint, currentScope, type TaskImpl } from "../core/index.js";
import type { Envelope } from "../channels/index.js";
import type { StreamReceiver } from "./stream-receiver.js";

/** @internal One delivery of one entry: the envelope user code sees. */
export class RedisDelivery<T> implements Envelope<T> {
  /** "ready" while buffered, "held" once handed out, "acked" from the moment the XACK is queued (see ack). */
  #status: "ready" | "held" | "acked" | "returned" = "ready";
  #receiver: StreamReceiver<T>;
  /** @internal The receive handle it came through, and the task that received it (set when handed out). */
  owner: object | undefined = undefined;
  /** @internal */
  task: TaskImpl<unknown> | undefined = undefined;
  /** @internal Links in the receiver's list of deliveries in flight. */
  prev: RedisDelivery<T> | undefined = undefined;
  /** @internal */
  next: RedisDelivery<T> | undefined = undefined;
  readonly id: string;
  readonly value: T;
  /** Deliveries so far, this one included (Redis's count: 1 after the first read). */
  readonly deliveries: number;
  /** @internal When it was read (or claimed back to us): its idle time in Redis starts here. */
  readonly readAt: number;

  constructor(receiver: StreamReceiver<T>, id: string, value: T, deliveries: number, readAt: number) {
    this.#receiver = receiver;
    this.id = id;
    this.value = value;
    this.deliveries = deliveries;
    this.readAt = readAt;
  }

  /** @internal Handed out to `task` through the handle `owner` (once: a buffered envelope is handed out at most once). */
  handOut(owner: object, task: TaskImpl<unknown> | undefined): void {
    this.#status = "held";
    this.owner = owner;
    this.task = task;
  }

  ack(): Promise<void> {
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (this.#status === "returned") {
      return Promise.reject(
        new RuntimeError(
          `Envelope.ack(): entry ${this.id} was already handed back (the task that received it ended, or its receive handle was closed) ` +
            "and may be delivered again; acknowledge an entry in the task that received it, before it ends",
        ),
      );
    }
    const receiver = this.#receiver;
    // A broken receive side (Redis failed under a read or an XACK): this value is not
    // acknowledged; it goes back when its task ends, and is claimed again after claimIdleMs.
    if (receiver.broken !== undefined) return Promise.reject(receiver.broken);
    if (this.#status === "held") {
      // Out of flight at once: the task may end while the XACK travels, and must not hand it back.
      this.#status = "acked";
      receiver.left(this);
      receiver.ack(this.id);
      receiver.kick();
    }
    // Queued, not awaited (see openRedisChannel, "ack"): the XACK goes out at the end of this
    // turn, in order with the client's other commands; a failure breaks the receive side.
    return completeCheckpoint(scope);
  }

  /** @internal Marks the delivery handed back; false if already acknowledged or handed back. */
  giveBack(): boolean {
    if (this.#status !== "held") return false;
    this.#status = "returned";
    this.#receiver.left(this);
    return true;
  }

  get [Symbol.toStringTag](): string {
    return `Envelope ${this.id} (${this.#status}, delivery ${this.deliveries})`;
  }
}

