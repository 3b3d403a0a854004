/**
 * The shared state of an acknowledged channel ({@link openAckChannel}): a {@link ChannelState}
 * (the same buffer, waiting senders and receivers, hand-off rules and close rules as
 * `openChannel`) plus the values in flight — handed to a receiver and not yet acknowledged.
 *
 * A value in flight is held by a {@link Delivery}. It leaves flight in exactly one of two ways:
 * `ack()` (done, forgotten), or a return to the front of the queue, when the task that received
 * it ends (returns, fails or is cancelled) or the receive handle it came through is closed.
 * A returned value is a {@link Returned} record in the buffer, ahead of every value never
 * delivered, so order is kept; the buffer may then hold more than `capacity` values for a
 * while, and senders wait until it is back under (a returned value has nowhere else to go: it
 * must not be lost, and it must not wait behind a sender).
 *
 * The buffer of the underlying ChannelState holds plain values (as sent) and Returned records,
 * told apart with `instanceof` (user code cannot make a Returned). That is what lets the plain
 * {@link SendChannel} and {@link ReceiveChannel} work on this state unchanged.
 *
 * @module
 */
import {
  RuntimeError,
  TaskImpl,
  currentScope,
  currentTaskImpl,
  completeCheckpoint,
} from "../core/index.js";
import { ChannelState, endOfChannel, type ChannelStatistics } from "./channel-state.js";

/**
 * A value received from an acknowledged channel ({@link openAckChannel}, or `openRedisChannel`
 * from `trellis/redis`), with what it takes to acknowledge it.
 *
 * @typeParam T - The type of the value.
 * @example
 * ```ts
 * import { openAckChannel, type Envelope } from "trellis";
 * const [send, receive] = openAckChannel<string>(10);
 * await send.send("job");
 * const envelope: Envelope<string> = await receive.receive();
 * console.log(envelope.value, envelope.id, envelope.deliveries); // "job" "1" 1
 * await envelope.ack();
 * ```
 */
export interface Envelope<T> {
  /** The value sent. */
  readonly value: T;
  /** The value's identity in its channel, the same on every delivery: `"1"`, `"2"`… in memory, the entry id in Redis. */
  readonly id: string;
  /** How many times this value has been handed out, this delivery included (1 the first time). */
  readonly deliveries: number;
  /**
   * Acknowledges the value: it is done and will not be delivered again. A checkpoint; in a
   * cancelled context it raises `Cancelled` and acknowledges nothing (the value then goes back
   * when the task ends: shield the call to acknowledge during a cancellation). A second `ack()`
   * of the same envelope does nothing. In a Redis channel `ack()` returns once Redis has
   * replied to its `XACK`.
   */
  ack(): Promise<void>;
}

/**
 * A snapshot of an acknowledged channel: the statistics of {@link openChannel}, plus the values
 * in flight.
 *
 * @example
 * ```ts
 * import { openAckChannel } from "trellis";
 * const [, receive] = openAckChannel<string>(10);
 * const { currentBufferUsed, inFlight } = receive.statistics();
 * ```
 */
export interface AckChannelStatistics extends ChannelStatistics {
  /** Values handed to a receiver and neither acknowledged nor returned yet. */
  readonly inFlight: number;
}

/** @internal A value handed back, waiting in the buffer for its next delivery. */
export class Returned<T> {
  constructor(
    readonly value: T,
    readonly seq: number,
    readonly deliveries: number,
  ) {}
}

/** @internal Who received a delivery: the holder whose end returns it (a handle's close does too). */
export interface DeliveryOwner {
  readonly held: Set<Delivery<unknown>>;
}

/** @internal One delivery of one value: the envelope user code sees. */
export class Delivery<T> implements Envelope<T> {
  /** "held" until acknowledged or returned; then the envelope is spent. */
  #status: "held" | "acked" | "returned" = "held";
  #state: AckChannelState<T>;
  #owner: DeliveryOwner;
  #task: TaskImpl<unknown> | undefined;
  readonly id: string;

  constructor(
    state: AckChannelState<T>,
    owner: DeliveryOwner,
    task: TaskImpl<unknown> | undefined,
    readonly value: T,
    /** @internal */ readonly seq: number,
    readonly deliveries: number,
  ) {
    this.#state = state;
    this.#owner = owner;
    this.#task = task;
    this.id = String(seq);
  }

  ack(): Promise<void> {
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (this.#status === "returned") {
      return Promise.reject(
        new RuntimeError(
          `Envelope.ack(): value ${this.id} was already handed back to the queue (the task that received it ended, ` +
            "or its receive handle was closed) and may be delivered again; acknowledge a value in the task that received it, before it ends",
        ),
      );
    }
    if (this.#status === "held") {
      this.#status = "acked";
      this.#leave();
      this.#state.leftFlight();
    }
    return completeCheckpoint(scope);
  }

  /** @internal Hands the value back to the front of the queue (its holder ended). False if spent. */
  giveBack(): boolean {
    if (this.#status !== "held") return false;
    this.#status = "returned";
    this.#leave();
    return true;
  }

  /** Leaves flight: forgotten by its owner, its task and the channel's count. */
  #leave(): void {
    this.#state.inFlight--;
    this.#owner.held.delete(this);
    const task = this.#task;
    if (task !== undefined) this.#state.forget(task, this);
  }

  get [Symbol.toStringTag](): string {
    return `Envelope ${this.id} (${this.#status}, delivery ${this.deliveries})`;
  }
}

/** @internal */
export class AckChannelState<T> extends ChannelState<T> {
  inFlight = 0;
  private lastSeq = 0;
  /** Deliveries held per receiving task, and the one exit hook per task that returns them. */
  private readonly byTask = new Map<TaskImpl<unknown>, { held: Set<Delivery<T>>; hook: () => void }>();

  /** Makes the envelope for `item` (a value as sent, or a returned one) for the calling task. */
  deliver(item: T | Returned<T>, owner: DeliveryOwner, task: TaskImpl<unknown> | undefined = currentTaskImpl()): Delivery<T> {
    const delivery =
      item instanceof Returned
        ? new Delivery<T>(this, owner, task, item.value, item.seq, item.deliveries + 1)
        : new Delivery<T>(this, owner, task, item, ++this.lastSeq, 1);
    this.inFlight++;
    owner.held.add(delivery as Delivery<unknown>);
    if (task !== undefined) {
      if (task.state !== "running") {
        // It ended before it could see the value (an abandoned receive): back it goes.
        this.giveBack([delivery]);
      } else {
        let entry = this.byTask.get(task);
        if (entry === undefined) {
          const held = new Set<Delivery<T>>();
          const hook = (): void => {
            this.byTask.delete(task);
            this.giveBack(held);
          };
          entry = { held, hook };
          this.byTask.set(task, entry);
          (task.attemptHooks ??= new Set()).add(hook);
        }
        entry.held.add(delivery);
      }
    }
    return delivery;
  }

  /** @internal A value left flight: receivers waiting for the end may have reached it. */
  leftFlight(): void {
    if (this.openSendChannels === 0 && this.receiveWaiters.length > 0) this.endWaitingReceivers();
  }

  /** @internal `delivery` left flight: its task no longer holds it. */
  forget(task: TaskImpl<unknown>, delivery: Delivery<T>): void {
    const entry = this.byTask.get(task);
    if (entry === undefined) return;
    // The entry (and its hook) stays until the attempt ends: a worker takes value after value.
    entry.held.delete(delivery);
  }

  /**
   * Returns the values of `deliveries` still held to the front of the queue, the earliest sent
   * first, then hands the front of the buffer to receivers that wait. With no receive handle
   * left open they are dropped, as `openChannel` drops its buffer.
   */
  giveBack(deliveries: Iterable<Delivery<T>>): void {
    const back: Delivery<T>[] = [];
    for (const d of [...deliveries]) if (d.giveBack()) back.push(d);
    if (back.length === 0 || this.openReceiveChannels === 0) return;
    back.sort((a, b) => b.seq - a.seq);
    for (const d of back) this.buffer.unshift(new Returned(d.value, d.seq, d.deliveries) as T);
    // Receivers wait only while the buffer is empty: serve them from the front, in order.
    while (this.buffer.length > 0 && this.receiveWaiters.length > 0) this.receiveWaiters.wakeFirst(this.buffer.shift());
  }

  /**
   * The end of the stream, for a receive that found nothing ready: every send handle is
   * closed, and no value is in flight in a task that could still hand it back. A value held by
   * another running task may come back (that task may fail), so a receiver waits for it; but
   * values held by the caller itself, or by tasks that are themselves waiting to receive, cannot
   * come back while they wait — counting them would deadlock two workers that each hold one.
   */
  override hasEnded(): boolean {
    if (this.openSendChannels > 0) return false;
    const me = currentTaskImpl();
    if (this.inFlight - this.heldByWaiting(me) > 0) return false;
    if (this.receiveWaiters.length > 0) this.endWaitingReceivers();
    return true;
  }

  /** Ends the waits of receivers once nothing more can come (see {@link hasEnded}). */
  protected override endWaitingReceivers(): void {
    if (this.buffer.length > 0 || this.openSendChannels > 0) return;
    if (this.inFlight - this.heldByWaiting(undefined) > 0) return;
    this.receiveWaiters.breakAll(() => endOfChannel("AckReceiveChannel.receive()"));
  }

  /** Values in flight held by `me` and by the tasks waiting in `receive` on this channel. */
  private heldByWaiting(me: TaskImpl<unknown> | undefined): number {
    if (this.byTask.size === 0) return 0;
    const tasks = new Set<TaskImpl<unknown>>();
    if (me !== undefined) tasks.add(me);
    for (const parked of this.receiveWaiters) if (parked.task !== undefined) tasks.add(parked.task);
    let held = 0;
    for (const task of tasks) held += this.byTask.get(task)?.held.size ?? 0;
    return held;
  }

  override statistics(): AckChannelStatistics {
    return { ...super.statistics(), inFlight: this.inFlight };
  }
}
