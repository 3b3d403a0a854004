/**
 * The receiving handle of an acknowledged channel. A thin layer over a plain
 * {@link ReceiveChannel} on the same state (every wait, close and end-of-stream rule is that
 * one's): it turns each value received into an {@link Envelope} held in flight.
 *
 * @module
 */
import { inspect, type InspectOptions } from "node:util";
import { currentTaskImpl } from "../core/index.js";
import { AckChannelState, type AckChannelStatistics, type DeliveryOwner, type Envelope, type Returned } from "./ack-channel-state.js";
import { openReceiveChannel, receiveStep, type ReceiveChannel } from "./receive-channel.js";
import { closedHandle } from "./channel-state.js";

let makeAckReceive: (state: AckChannelState<unknown>) => AckReceiveChannel<unknown>;

/**
 * The receiving end of a channel made by {@link openAckChannel}. As {@link ReceiveChannel}
 * (same waits, FIFO order, clone, close, end of stream and errors), except that each value
 * comes in an {@link Envelope} and stays *in flight* until `envelope.ack()`. If the task that
 * received it ends first — returns, fails or is cancelled — or this handle is closed first, the
 * value goes back to the front of the queue and is delivered again, its `deliveries` one higher.
 *
 * @typeParam T - The type of the values received.
 * @example
 * ```ts
 * import { openAckChannel, withTaskGroup } from "trellis";
 * const [send, receive] = openAckChannel<string>(100);
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(async () => {
 *     using rx = receive;
 *     for await (const job of rx) {
 *       await handle(job.value); // if this throws, the job goes back to the queue
 *       await job.ack();
 *     }
 *   });
 *   using tx = send;
 *   await tx.send("resize photo 17");
 * });
 * ```
 */
export class AckReceiveChannel<T> implements Disposable, AsyncIterable<Envelope<T>> {
  #inner: ReceiveChannel<T>;
  #state: AckChannelState<T>;
  /** The deliveries made through this handle and still in flight: returned when it is closed. */
  #owner: DeliveryOwner = { held: new Set() };
  #closed = false;

  // Handles come from openAckChannel() and clone() (private: the published type shows none).
  private constructor(state: AckChannelState<T>) {
    this.#state = state;
    this.#inner = openReceiveChannel(state);
  }

  /**
   * Receives the next value, waiting until one is sent or handed back. A checkpoint, with the
   * rules of {@link ReceiveChannel.receive}: a receive cancelled while waiting takes nothing.
   * The value is in flight from now until `ack()`, or until the calling task ends.
   *
   * @returns The value in its envelope.
   * @throws {EndOfChannel} If every send handle is closed and nothing is buffered. Values still
   *   in flight may come back after that (when their task ends unacknowledged): a receiver that
   *   must see them all keeps receiving until `statistics().inFlight` is 0.
   * @throws {ClosedResourceError} If this handle is closed, or is closed while the call waits.
   * @throws {Cancelled} If the calling context is cancelled before a value arrives.
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [send, receive] = openAckChannel<number>(1);
   * await send.send(42);
   * const envelope = await receive.receive();
   * await envelope.ack();
   * ```
   */
  receive(): Promise<Envelope<T>> {
    const task = currentTaskImpl();
    return this.#inner.receive().then((item) => this.#state.deliver(item as T | Returned<T>, this.#owner, task));
  }

  /**
   * Receives a value if one is ready; otherwise throws {@link WouldBlock} and takes nothing.
   * Never yields. The value is then in flight, as with {@link AckReceiveChannel.receive}.
   *
   * @returns The value in its envelope.
   * @throws {WouldBlock} If no value is ready.
   * @throws {EndOfChannel} If every send handle is closed and nothing is buffered.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { openAckChannel, WouldBlock } from "trellis";
   * const [send, receive] = openAckChannel<number>(4);
   * send.trySend(1);
   * try { await receive.tryReceive().ack(); } catch (err) { if (!(err instanceof WouldBlock)) throw err; }
   * ```
   */
  tryReceive(): Envelope<T> {
    return this.#state.deliver(this.#inner.tryReceive() as T | Returned<T>, this.#owner);
  }

  /**
   * Returns a new receive handle on the same channel (fan-out: one per consumer). Never yields.
   *
   * @returns A new, open receive handle.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [, receive] = openAckChannel<string>(8);
   * const worker2 = receive.clone();
   * ```
   */
  clone(): AckReceiveChannel<T> {
    if (this.#closed) throw closedHandle("AckReceiveChannel.clone()", "receive");
    return new AckReceiveChannel(this.#state);
  }

  /**
   * Closes this handle: idempotent, synchronous, never yields, works in a cancelled scope.
   * As {@link ReceiveChannel.close}, and besides, every value received through this handle and
   * not yet acknowledged goes back to the front of the queue (their envelopes' `ack()` then
   * throws `RuntimeError`). When it is the last receive handle, those values are dropped with
   * the buffer and senders get {@link BrokenResourceError}.
   *
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [send, receive] = openAckChannel<string>(2);
   * const extra = receive.clone();
   * send.trySend("a");
   * extra.tryReceive();
   * extra.close(); // "a" is back in the queue
   * console.log(receive.tryReceive().deliveries); // 2
   * ```
   */
  close(): void {
    this.#closed = true;
    this.#inner.close();
    if (this.#owner.held.size > 0) this.#state.giveBack(this.#owner.held as Set<never>);
  }

  /**
   * Same as {@link AckReceiveChannel.close}, for `using`.
   *
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [, receive] = openAckChannel<string>();
   * { using rx = receive.clone(); } // rx is closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Iterates the envelopes with `for await`; each step is a `receive()`. The loop ends when
   * every send handle is closed and the buffer is drained. Leaving the loop early closes nothing.
   *
   * @returns An async iterator over the envelopes received.
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [send, receive] = openAckChannel<number>(3);
   * for (const n of [1, 2, 3]) send.trySend(n);
   * send.close();
   * for await (const envelope of receive) await envelope.ack();
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Envelope<T>> {
    const inner = this.#inner;
    const state = this.#state;
    const owner = this.#owner;
    const iterator: AsyncIterableIterator<Envelope<T>> = {
      next: () => {
        const task = currentTaskImpl();
        return receiveStep(inner).then((step) =>
          step.done === true ? step : { done: false, value: state.deliver(step.value as T | Returned<T>, owner, task) },
        );
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * A snapshot of the channel: the statistics of {@link openChannel} plus `inFlight`, the values
   * received and not yet acknowledged nor returned. Never yields.
   *
   * @example
   * ```ts
   * import { openAckChannel } from "trellis";
   * const [, receive] = openAckChannel<number>();
   * console.log(receive.statistics().inFlight); // 0
   * ```
   */
  statistics(): AckChannelStatistics {
    return this.#state.statistics();
  }

  static {
    makeAckReceive = (state) => new AckReceiveChannel(state);
    // `util.inspect` shows whether this handle is open and the channel's live state.
    Object.defineProperty(AckReceiveChannel.prototype, inspect.custom, {
      value(this: AckReceiveChannel<unknown>, depth: number, options: InspectOptions): string {
        const inner = this.#inner as unknown as Record<symbol, (depth: number, options: InspectOptions) => string>;
        return inner[inspect.custom]!(depth, options).replace(/^ReceiveChannel/, "AckReceiveChannel");
      },
      writable: true,
      configurable: true,
    });
  }
}

/** @internal A new handle on `state` (the constructor is private). */
export function openAckReceiveChannel<T>(state: AckChannelState<T>): AckReceiveChannel<T> {
  return makeAckReceive(state as AckChannelState<unknown>) as AckReceiveChannel<T>;
}
