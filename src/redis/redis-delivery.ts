/**
 * One delivery of one entry of a Redis channel: the envelope user code sees. Made straight
 * from the reply that read the entry (one object per value read), it waits in the receiver's
 * buffer until handed out; then it is in flight (linked in its receiver's list) until `ack()`
 * or a hand-back. A value handed back is delivered again in a new envelope.
 *
 * @module
 */
import { RuntimeError, currentScope, type TaskImpl, type WaitQueue } from "../core/index.js";
import type { Envelope } from "../channels/index.js";
import type { StreamReceiver } from "./stream-receiver.js";

/** @internal One delivery of one entry: the envelope user code sees. */
export class RedisDelivery<T> implements Envelope<T> {
  /** "ready" while buffered, "held" once handed out, "acked" from the moment the XACK is queued (see ack). */
  #status: "ready" | "held" | "acked" | "returned" = "ready";
  #receiver: StreamReceiver<T>;
  #acked: WaitQueue | undefined = undefined;
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
    if (this.#status === "held") {
      // Out of flight at once: the task may end while the XACK travels, and must not hand it back.
      this.#status = "acked";
      this.#receiver.left(this);
      this.#acked = this.#receiver.ack(this.id);
      this.#receiver.kick();
    }
    // Waits for the reply to the XACK of its batch (a second ack() too, or returns at once).
    return this.#receiver.waitForAck(this.#acked!, scope);
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

