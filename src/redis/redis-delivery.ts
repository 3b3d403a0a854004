/**
 * One delivery of one entry of a Redis channel: the envelope user code sees. It is in flight
 * (linked in its receiver's list) from `deliver` until `ack()` or a hand-back.
 *
 * @module
 */
import { RuntimeError, currentScope, type TaskImpl, type WaitQueue } from "../core/index.js";
import type { Envelope } from "../channels/index.js";
import type { Pending, StreamReceiver } from "./stream-receiver.js";

/** @internal One delivery of one entry: the envelope user code sees. */
export class RedisDelivery<T> implements Envelope<T> {
  /** "acked" from the moment the XACK is queued (see ack). */
  #status: "held" | "acked" | "returned" = "held";
  #receiver: StreamReceiver<T>;
  #acked: WaitQueue | undefined = undefined;
  /** @internal The receive handle it came through, and the task that received it. */
  readonly owner: object;
  /** @internal */
  readonly task: TaskImpl<unknown> | undefined;
  /** @internal Links in the receiver's list of deliveries in flight. */
  prev: RedisDelivery<T> | undefined = undefined;
  /** @internal */
  next: RedisDelivery<T> | undefined = undefined;
  readonly id: string;
  readonly value: T;
  readonly deliveries: number;

  constructor(receiver: StreamReceiver<T>, owner: object, task: TaskImpl<unknown> | undefined, p: Pending<T>) {
    this.#receiver = receiver;
    this.owner = owner;
    this.task = task;
    this.id = p.id;
    this.value = p.value;
    this.deliveries = p.deliveries;
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

